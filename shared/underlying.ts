// Which underlyings move together, for the concentration limit. Exposure is grouped by the
// underlying the broker reports for a contract (ContractDetails.underSymbol, cached by the bridge
// and sent with every quote), then by index family: the weekly, mini and PM-settled classes of one
// index track it point for point (XSP is SPX / 10, XND is NDX / 100, MRUT is RUT / 10), so a
// position in one is a position in the others.

const FAMILIES: Readonly<Record<string, string>> = Object.freeze({
  SPXW: "SPX", SPXPM: "SPX", XSP: "SPX",
  NDXP: "NDX", XND: "NDX",
  RUTW: "RUT", MRUT: "RUT",
  DJX: "DJI",
  VIXW: "VIX",
  XEO: "OEX",
});

/** The group an underlying's exposure counts in: its index family, or itself. */
export function exposureGroup(underlying: string): string {
  const symbol = underlying.trim().toUpperCase();
  return FAMILIES[symbol] ?? symbol;
}
