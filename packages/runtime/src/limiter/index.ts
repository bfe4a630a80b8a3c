export { RedisRateGate, type RedisRateGateOptions, type GateEvent, type LimitedRateKey } from './redis-rate-gate';
export {
  RATE_LIMITS_ENV,
  parseLimitTable,
  limitTableFromEnv,
  lookupLimits,
  type LimitTable,
  type ModelLimits,
} from './limits';
export { parseRateLimitHeaders, parseGoDuration, type LearnedLimits } from './rate-limit-headers';
