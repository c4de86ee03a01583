// What other modules (and app.ts, scripts) may use of `payments`; its routes plugin is index.ts, registered by app.ts.
export { simulatePayment } from './simulator.ts'
