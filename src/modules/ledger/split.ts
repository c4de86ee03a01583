import { mulDivRoundHalfUp } from '../../platform/money.ts'

// How a refund splits between vendor and platform (plan §3.5), on cumulative amounts so the
// rounding of many small refunds never drifts from one refund of their sum. For an order:
// paid P, commission C, platform-funded discount F, vendor share S = P − C + F.

export interface OrderMoney { paid: number, commission: number, funding: number }

/** Commission given back once `refunded` (cumulative) of P is refunded. */
export function commissionReturned (o: OrderMoney, refunded: number): number {
  return o.paid === 0 ? 0 : mulDivRoundHalfUp(Math.min(refunded, o.paid), o.commission, o.paid)
}

/** Platform funding taken back once `refunded` (cumulative) is refunded. */
export function fundingReturned (o: OrderMoney, refunded: number): number {
  return o.paid === 0 ? 0 : mulDivRoundHalfUp(Math.min(refunded, o.paid), o.funding, o.paid)
}

/** The vendor's share of `refunded` (cumulative): vendorPart(P) = S exactly. */
export function vendorPart (o: OrderMoney, refunded: number): number {
  return refunded - commissionReturned(o, refunded) + fundingReturned(o, refunded)
}

export function shareOf (o: OrderMoney): number {
  return o.paid - o.commission + o.funding
}

/**
 * What must stand reversed of a transfer of `transferred` once `refunded` (cumulative) is
 * refunded: the vendor's part of the refunds beyond what was kept back before the transfer,
 * never below 0 nor above the transfer.
 */
export function reversalTarget (o: OrderMoney, refunded: number, transferred: number): number {
  const due = vendorPart(o, refunded) - (shareOf(o) - transferred)
  return Math.max(0, Math.min(transferred, due))
}

/** What an unclaimed transfer is lowered to once `refunded` (cumulative) is refunded. */
export function unclaimedAmount (o: OrderMoney, refunded: number): number {
  return Math.max(0, shareOf(o) - vendorPart(o, refunded))
}
