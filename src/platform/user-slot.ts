// On a Redis Cluster a key lives in the slot of its `{tag}`, and one script or MULTI may touch
// keys of one slot only. The user's keys that scripts touch together (their sessions, the set of
// them, their profile version) carry the tag of the user's bucket: one of 256, so users spread
// over the nodes while each user's keys stay together. On a single Redis a tag changes nothing.

export const USER_BUCKETS: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** The user's bucket, two hex digits: FNV-1a of the id (any id spreads, time-ordered ones too). */
export function userBucket (userId: string): string {
  let hash = 0x811c9dc5
  for (let i = 0; i < userId.length; i++) hash = Math.imul(hash ^ userId.charCodeAt(i), 0x01000193)
  return ((hash >>> 0) & 0xff).toString(16).padStart(2, '0')
}

export const bucketTag = (bucket: string): string => `{u${bucket}}`

/** The hash tag of every key of the user that a script or MULTI touches with others. */
export const userTag = (userId: string): string => bucketTag(userBucket(userId))
