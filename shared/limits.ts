// The hard limits of the safety layer. They are code on purpose: no env var, tool argument,
// dashboard action or API can raise them (DESIGN.md invariant 3). Changing one is a commit,
// reviewed like any other change to the safety path.

/** Worst-case loss allowed for a single trade, in USD (seed). */
export const MAX_TRADE_RISK = 500;
/** Loss allowed in one trading day (America/New_York), in USD (seed). */
export const DAILY_LOSS_LIMIT = 1_000;
/** Largest share of net liquidation one underlying may carry, open and pending orders included (seed). */
export const MAX_CONCENTRATION = 0.3;
/** Drawdown of net liquidation from its high-water mark that trips the breaker (seed). */
export const DRAWDOWN_CIRCUIT_BREAKER = 0.1;
/** Losing trades in a row that trip the breaker (seed). */
export const CONSECUTIVE_LOSS_LIMIT = 5;

// Order-shape limits. The seed names them without values; the values below are ours.

/**
 * Smallest per-share price of an option leg, in USD. Below a nickel an option is almost all
 * spread: IBKR's minimum tick and the bid/ask make such a leg's fill price meaningless, and a
 * $0.01 "wing" is usually a mistake that leaves a structure effectively naked.
 */
export const MIN_LEG_PRICE = 0.05;

/**
 * Widest strike range, in points, among the option legs of one expiry and one right (a vertical's
 * width, an iron condor's wing, a butterfly's span). With MAX_TRADE_RISK at $500 a one-lot
 * 20-point credit spread would need a credit above $15 to fit, which is not a structure anyone
 * sells on purpose: anything wider is a typo in a strike.
 */
export const MAX_SPREAD_WIDTH = 20;

/**
 * Most option contracts on one leg of one order. Ten one-lot iron condors with $0.50 of risk
 * each already fill the $500 budget; a bigger size is a units mistake (shares for contracts).
 */
export const MAX_CONTRACTS_PER_ORDER = 10;

/** Most shares on a stock leg: enough to cover MAX_CONTRACTS_PER_ORDER calls (100 per contract). */
export const MAX_SHARES_PER_ORDER = MAX_CONTRACTS_PER_ORDER * 100;

/**
 * Most legs per order. Four covers every standard defined-risk structure (iron condor, iron
 * butterfly, butterfly, condor) and is IBKR's practical limit for a guaranteed combo.
 */
export const MAX_LEGS_PER_ORDER = 4;

/**
 * Most orders sent to TWS per rolling minute per account that an opening order, or a modify of
 * one, may join. Every order and every modify sent counts — openings, closes and modifies of
 * either — so a loop of closes or price walks also stops new openings. An agent retrying in a loop
 * is the failure this catches; five a minute is far above what a human-paced options strategy
 * needs and far below IBKR's own message pacing.
 */
export const MAX_ORDERS_PER_MINUTE = 5;

/**
 * Closes' own allowance: most closing orders and modifies of closing orders per rolling minute
 * per account. Closes reduce risk, so openings cannot use this allowance up (five openings still
 * leave room for five closes), but a loop of closes or of a close's price walks is stopped at it
 * like any other loop. A close a person orders (the dashboard's kill switch) is counted and never
 * refused: stopping it would keep risk on.
 */
export const MAX_CLOSE_ORDERS_PER_MINUTE = 5;

/**
 * Fat-finger collar: a limit price may stray from the current mid by at most this fraction of
 * the mid, or by MIN_PRICE_COLLAR dollars per share, whichever is larger. Options spreads are
 * wide in relative terms when the net price is small (a $0.40 condor with a $0.10 market is
 * normal), so a pure percentage would refuse sane orders; the absolute floor covers that.
 */
export const MAX_PRICE_DEVIATION = 0.1;
/** The absolute floor of the fat-finger collar, in USD per share of the net price. */
export const MIN_PRICE_COLLAR = 0.1;

/**
 * How much more than the legs it closes can cost at expiry, at worst, a close may pay, in USD per
 * share of its net price per unit. Paying more than that locks in a loss larger than holding the
 * position to expiry ever could (a deep in-the-money spread closed at its natural price, or at a
 * limit far over its width); a dime a share covers the bid/ask of a spread near its width, and
 * anything beyond is a person's decision (POST /api/trades/close), not an agent's.
 */
export const CLOSE_PRICE_TOLERANCE = 0.1;

/** Account data older than this is stale and every opening order is refused (fail closed). */
export const MAX_ACCOUNT_DATA_AGE_MS = 60_000;
/** A quote older than this cannot be used for the fat-finger collar. */
export const MAX_QUOTE_AGE_MS = 15_000;

/** Longest time ahead an option expiry may be (LEAPS run about 2.7 years out). */
export const MAX_EXPIRY_DAYS_AHEAD = 1_000;

/** Multiplier of US equity options. */
export const OPTION_MULTIPLIER = 100;

/** All the limits as one frozen record, for the MCP resource, the dashboard and the README. */
export const LIMITS = Object.freeze({
  MAX_TRADE_RISK,
  DAILY_LOSS_LIMIT,
  MAX_CONCENTRATION,
  DRAWDOWN_CIRCUIT_BREAKER,
  CONSECUTIVE_LOSS_LIMIT,
  MIN_LEG_PRICE,
  MAX_SPREAD_WIDTH,
  MAX_CONTRACTS_PER_ORDER,
  MAX_SHARES_PER_ORDER,
  MAX_LEGS_PER_ORDER,
  MAX_ORDERS_PER_MINUTE,
  MAX_CLOSE_ORDERS_PER_MINUTE,
  MAX_PRICE_DEVIATION,
  MIN_PRICE_COLLAR,
  CLOSE_PRICE_TOLERANCE,
  MAX_ACCOUNT_DATA_AGE_MS,
  MAX_QUOTE_AGE_MS,
  MAX_EXPIRY_DAYS_AHEAD,
  OPTION_MULTIPLIER,
});
export type Limits = typeof LIMITS;
