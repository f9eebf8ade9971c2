// Which underlyings move together, for the concentration limit. Exposure is grouped by the
// underlying the broker reports for a contract (ContractDetails.underSymbol, cached by the bridge
// and sent with every quote), then by its ECONOMIC underlying: the index it tracks. An index's
// weekly, mini and PM-settled option classes track it point for point (XSP is SPX / 10), and an
// ETF holding the index is the index in another wrapper, so a position in one is a position in the
// others. A leveraged fund moves by its multiple, so its exposure counts that many times; an
// inverse fund counts by the size of its multiple too — concentration measures gross exposure to
// what moves together, and a short index position is as concentrated as a long one.
//
// | group | index | members (multiple) |
// |---|---|---|
// | SPX | S&P 500 | SPX, SPXW, SPXPM, XSP; SPY, VOO, IVV, SPLG (1); SSO (2), UPRO, SPXL (3); inverse SH (1), SDS (2), SPXU, SPXS (3) |
// | NDX | Nasdaq-100 | NDX, NDXP, XND; QQQ, QQQM (1); QLD (2), TQQQ (3); inverse PSQ (1), QID (2), SQQQ (3) |
// | RUT | Russell 2000 | RUT, RUTW, MRUT; IWM, VTWO (1); UWM (2), TNA (3); inverse RWM (1), TWM (2), TZA (3) |
// | DJI | Dow Jones Industrial Average | DJX; DIA (1); DDM (2), UDOW (3); inverse DOG (1), DXD (2), SDOW (3) |
// | VIX | Cboe Volatility Index | VIX, VIXW |
// | OEX | S&P 100 | OEX, XEO |
//
// Anything else is its own group at multiple 1. The S&P 100 stays apart from the S&P 500 and the
// Nasdaq-100 from both: they are correlated, not the same index. VIX exchange-traded products
// (VXX, UVXY…) hold VIX futures, not the index, and are not grouped with it.

interface Member {
  /** The economic underlying's group name. */
  group: string;
  /** How many times the index's daily move the member makes, by size (inverse funds count by |multiple|). */
  multiple: number;
}

const family = (group: string, byMultiple: Record<number, readonly string[]>): [string, Member][] =>
  Object.entries(byMultiple).flatMap(([multiple, symbols]) => symbols.map((symbol): [string, Member] => [symbol, { group, multiple: Number(multiple) }]));

const TABLE: ReadonlyMap<string, Member> = new Map([
  ...family("SPX", { 1: ["SPX", "SPXW", "SPXPM", "XSP", "SPY", "VOO", "IVV", "SPLG", "SH"], 2: ["SSO", "SDS"], 3: ["UPRO", "SPXL", "SPXU", "SPXS"] }),
  ...family("NDX", { 1: ["NDX", "NDXP", "XND", "QQQ", "QQQM", "PSQ"], 2: ["QLD", "QID"], 3: ["TQQQ", "SQQQ"] }),
  ...family("RUT", { 1: ["RUT", "RUTW", "MRUT", "IWM", "VTWO", "RWM"], 2: ["UWM", "TWM"], 3: ["TNA", "TZA"] }),
  ...family("DJI", { 1: ["DJX", "DIA", "DOG"], 2: ["DDM", "DXD"], 3: ["UDOW", "SDOW"] }),
  ...family("VIX", { 1: ["VIX", "VIXW"] }),
  ...family("OEX", { 1: ["OEX", "XEO"] }),
]);

const normalise = (underlying: string): string => underlying.trim().toUpperCase();

/** The group an underlying's exposure counts in: its economic underlying's, or itself. */
export function exposureGroup(underlying: string): string {
  const symbol = normalise(underlying);
  return TABLE.get(symbol)?.group ?? symbol;
}

/** How many times its own exposure an underlying's exposure counts in its group (1 unless leveraged). */
export function exposureMultiple(underlying: string): number {
  return TABLE.get(normalise(underlying))?.multiple ?? 1;
}

/** The table, for the README and tests: symbol → group and multiple. */
export function exposureTable(): ReadonlyMap<string, Readonly<Member>> {
  return TABLE;
}
