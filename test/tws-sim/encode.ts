// Outgoing TWS messages (server → client) as field lists, laid out per server version the way
// TWS writes them (IBKR's EDecoder/EOrderDecoder are the reference for the order of fields).
// Each builder returns the fields after framing is removed; server.ts frames them.

import { type Field, UNSET_DOUBLE, UNSET_INT } from "./framing";
import type { OptionComputationValues, SimContract } from "./market";
import type { SimExecution, SimOrder, WhatIfState } from "./types";

// Server-version thresholds that change layouts we emit (names as in IBKR's MIN_SERVER_VER_*).
export const SV = {
  MODELS_SUPPORT: 103,
  AGG_GROUP: 121,
  UNDERLYING_INFO: 122,
  MARKET_RULES: 126,
  UNREALIZED_PNL: 129,
  MARKET_CAP_PRICE: 131,
  REAL_EXPIRATION_DATE: 134,
  REALIZED_PNL: 135,
  LAST_LIQUIDITY: 136,
  ORDER_CONTAINER: 145,
  STOCK_TYPE: 152,
  PRICE_BASED_VOLATILITY: 156,
  FRACTIONAL_SIZE_SUPPORT: 163,
  SIZE_RULES: 164,
  ADVANCED_ORDER_REJECT: 166,
  MANUAL_ORDER_TIME: 169,
  PEGBEST_PEGMID_OFFSETS: 170,
  BOND_ISSUERID: 176,
  FA_PROFILE_DESUPPORT: 177,
  PENDING_PRICE_REVISION: 178,
  LAST_TRADE_DATE: 182,
  CUSTOMER_ACCOUNT: 183,
  PROFESSIONAL_CUSTOMER: 184,
  BOND_ACCRUED_INTEREST: 185,
  INELIGIBILITY_REASONS: 186,
  RFQ_FIELDS: 187,
  INCLUDE_OVERNIGHT: 189,
  UNDO_RFQ_FIELDS: 190,
  CME_TAGGING_FIELDS: 192,
  CME_TAGGING_FIELDS_IN_OPEN_ORDER: 193,
} as const;

export const IN = {
  TICK_PRICE: 1, TICK_SIZE: 2, ORDER_STATUS: 3, ERR_MSG: 4, OPEN_ORDER: 5, ACCT_VALUE: 6, PORTFOLIO_VALUE: 7,
  ACCT_UPDATE_TIME: 8, NEXT_VALID_ID: 9, CONTRACT_DATA: 10, EXECUTION_DATA: 11, MANAGED_ACCTS: 15,
  TICK_OPTION_COMPUTATION: 21, CURRENT_TIME: 49, CONTRACT_DATA_END: 52, OPEN_ORDER_END: 53, ACCT_DOWNLOAD_END: 54,
  EXECUTION_DATA_END: 55, TICK_SNAPSHOT_END: 57, MARKET_DATA_TYPE: 58, COMMISSION_REPORT: 59, POSITION: 61,
  POSITION_END: 62, ACCOUNT_SUMMARY: 63, ACCOUNT_SUMMARY_END: 64, SEC_DEF_OPT_PARAMS: 75, SEC_DEF_OPT_PARAMS_END: 76,
  TICK_REQ_PARAMS: 81, PNL: 94, PNL_SINGLE: 95, COMPLETED_ORDER: 101, COMPLETED_ORDERS_END: 102, HISTORICAL_DATA: 17,
} as const;

/** IBKR reports every combo order against this BAG conId. */
export const BAG_CON_ID = 28812380;

const dbl = (x: number | undefined): Field => (x === undefined ? UNSET_DOUBLE : x);

export function errMsg(sv: number, id: number, code: number, msg: string): Field[] {
  const f: Field[] = [IN.ERR_MSG, 2, id, code, msg];
  if (sv >= SV.ADVANCED_ORDER_REJECT) f.push("");
  return f;
}

export const managedAccts = (acct: string): Field[] => [IN.MANAGED_ACCTS, 1, acct];
export const nextValidId = (id: number): Field[] => [IN.NEXT_VALID_ID, 1, id];
export const currentTime = (epochSec: number): Field[] => [IN.CURRENT_TIME, 1, epochSec];

export function contractData(sv: number, reqId: number, c: SimContract): Field[] {
  const f: Field[] = [IN.CONTRACT_DATA];
  if (sv < SV.SIZE_RULES) f.push(8);
  f.push(reqId, c.symbol, c.secType, c.expiry);
  if (sv >= SV.LAST_TRADE_DATE) f.push(c.expiry);
  f.push(c.strike, c.right, c.exchange, c.currency, c.localSymbol, c.tradingClass, c.tradingClass, c.conId, 0.01);
  if (sv >= 110 && sv < SV.SIZE_RULES) f.push(1); // mdSizeMultiplier
  const opt = c.secType === "OPT";
  f.push(opt ? c.multiplier : "");
  f.push(
    opt ? "ACTIVETIM,AD,ADJUST,ALERT,ALLOC,AVGCOST,BASKET,COND,CONDORDER,DAY,DEACT,DEACTDIS,DEACTEOD,GAT,GTC,GTD,GTT,HID,ICE,IOC,LIT,LMT,MIT,MKT,MTL,NGCOMB,NONALGO,OCA,PEGMIDVOL,PEGSTK,POSTONLY,REL,RELPCTOFS,RELSTK,SCALE,SCALERST,SNAPMID,SNAPMKT,SNAPREL,STP,STPLMT,TRAIL,TRAILLIT,TRAILLMT,TRAILMIT,VOLAT,WHATIF"
      : "ACTIVETIM,AD,ADJUST,ALERT,ALGO,ALLOC,AVGCOST,BASKET,COND,CONDORDER,DAY,DEACT,DEACTDIS,DEACTEOD,GAT,GTC,GTD,GTT,HID,IOC,LIT,LMT,MIT,MKT,MOC,MTL,NGCOMB,NONALGO,OCA,REL,RELPCTOFS,SCALE,SCALERST,SNAPMID,SNAPMKT,SNAPREL,STP,STPLMT,TRAIL,TRAILLIT,TRAILLMT,TRAILMIT,WHATIF",
    opt ? "SMART,AMEX,CBOE,PHLX,PSE,ISE,BOX,BATS,NASDAQOM,CBOE2,NASDAQBX,MIAX,GEMINI,EDGX,MERCURY,PEARL,EMERALD,MEMX,IBUSOPT"
      : "SMART,AMEX,NYSE,CBOE,PHLX,ISE,CHX,ARCA,NASDAQ,DRCTEDGE,BEX,BATS,EDGEA,BYX,IEX,EDGX,FOXRIVER,PEARL,NYSENAT,LTSE,MEMX,IBEOS,OVERNIGHT,TPLUS0,PSX",
    1, // priceMagnifier
    c.underConId,
    c.longName,
    c.primaryExch,
    opt ? c.expiry.slice(0, 6) : "",
    c.secType === "STK" ? "Financial" : "",
    c.secType === "STK" ? "Equity Fund" : "",
    c.secType === "STK" ? "Index Fund" : "",
    "US/Eastern",
    "20250101:0930-20250101:1600",
    "20250101:0930-20250101:1600",
    "", // evRule
    "", // evMultiplier
    0, // secIdList count
  );
  if (sv >= SV.AGG_GROUP) f.push(opt ? 2 : 1);
  // underSymbol, underSecType: STK for stock/ETF options (shares delivered), IND for index options (cash).
  if (sv >= SV.UNDERLYING_INFO) f.push(opt ? c.symbol : "", opt ? c.underSecType : "");
  if (sv >= SV.MARKET_RULES) f.push(opt ? "32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32,32" : "26,26,26,26,26,26,26,26,26,26,26,26,26,26,26,26,26,26,26,26,26,26,26,26,26");
  if (sv >= SV.REAL_EXPIRATION_DATE) f.push(c.expiry);
  if (sv >= SV.STOCK_TYPE) f.push(c.secType === "STK" ? "ETF" : "");
  if (sv >= SV.FRACTIONAL_SIZE_SUPPORT && sv < SV.SIZE_RULES) f.push(1);
  if (sv >= SV.SIZE_RULES) f.push(1, 1, 1);
  if (sv >= SV.INELIGIBILITY_REASONS) f.push(0);
  return f;
}

export const contractDataEnd = (reqId: number): Field[] => [IN.CONTRACT_DATA_END, 1, reqId];

export function secDefOptParams(reqId: number, exchange: string, underConId: number, tradingClass: string, expiries: string[], strikes: number[]): Field[] {
  return [IN.SEC_DEF_OPT_PARAMS, reqId, exchange, underConId, tradingClass, 100, expiries.length, ...expiries, strikes.length, ...strikes];
}
export const secDefOptParamsEnd = (reqId: number): Field[] => [IN.SEC_DEF_OPT_PARAMS_END, reqId];

export const tickReqParams = (reqId: number): Field[] => [IN.TICK_REQ_PARAMS, reqId, 0.01, "9c0001", 3];
export const tickPrice = (reqId: number, tickType: number, price: number, size: number | "", attrMask = 0): Field[] =>
  [IN.TICK_PRICE, 6, reqId, tickType, price, size, attrMask];
export const tickSize = (reqId: number, tickType: number, size: number): Field[] => [IN.TICK_SIZE, 6, reqId, tickType, size];
export const tickSnapshotEnd = (reqId: number): Field[] => [IN.TICK_SNAPSHOT_END, 1, reqId];
export const marketDataType = (reqId: number, type: number): Field[] => [IN.MARKET_DATA_TYPE, 1, reqId, type];

/**
 * TICK_OPTION_COMPUTATION (21), tick types 10/11/12 (bid/ask/last: IV and greeks at that price)
 * and 13 (model). IBKR's EDecoder reads "not yet computed" as -1 for impliedVol, optPrice,
 * pvDividend and undPrice and as -2 for delta, gamma, vega and theta; that is how TWS sends them.
 * From PRICE_BASED_VOLATILITY (156) the version field is gone and tickAttrib follows the type.
 */
export function tickOptionComputation(sv: number, reqId: number, tickType: number, g: OptionComputationValues): Field[] {
  const or = (x: number | undefined, unset: number): Field => (x === undefined || !Number.isFinite(x) ? unset : x);
  const f: Field[] = [IN.TICK_OPTION_COMPUTATION];
  if (sv < SV.PRICE_BASED_VOLATILITY) f.push(6);
  f.push(reqId, tickType);
  if (sv >= SV.PRICE_BASED_VOLATILITY) f.push(0); // tickAttrib: return-based
  f.push(or(g.iv, -1), or(g.delta, -2), or(g.price, -1), or(g.pvDividend, -1), or(g.gamma, -2), or(g.vega, -2), or(g.theta, -2), or(g.und, -1));
  return f;
}

export function orderStatus(sv: number, o: SimOrder): Field[] {
  const f: Field[] = [IN.ORDER_STATUS];
  if (sv < SV.MARKET_CAP_PRICE) f.push(6);
  f.push(o.orderId, o.status, o.filled, o.remaining, o.avgFillPrice, o.permId, 0, o.lastFillPrice, o.clientId, "");
  if (sv >= SV.MARKET_CAP_PRICE) f.push(0);
  return f;
}

function contractFields(c: SimOrder["contract"]): Field[] {
  return [c.conId, c.symbol, c.secType, c.expiry, c.strike, c.right, c.multiplier, c.exchange, c.currency, c.localSymbol, c.tradingClass];
}

/**
 * OPEN_ORDER. From server version 145 (ORDER_CONTAINER) there is no version field; the
 * message version is the server version itself, so every "version >= n" branch in IBKR's
 * EOrderDecoder is taken.
 */
export function openOrder(sv: number, o: SimOrder, status: string, whatIf?: WhatIfState): Field[] {
  if (sv < SV.ORDER_CONTAINER) throw new Error(`OPEN_ORDER below server version ${SV.ORDER_CONTAINER} is not modelled`);
  const f: Field[] = [IN.OPEN_ORDER, o.orderId, ...contractFields(o.contract)];
  f.push(o.action, o.totalQuantity, o.orderType, dbl(o.lmtPrice), dbl(o.auxPrice), o.tif, "", o.account, "", 0, o.orderRef, o.clientId, o.permId);
  f.push(o.outsideRth, 0, 0, ""); // outsideRth, hidden, discretionaryAmt, goodAfterTime
  f.push(""); // deprecated sharesAllocation
  f.push("", "", ""); // faGroup, faMethod, faPercentage
  if (sv < SV.FA_PROFILE_DESUPPORT) f.push(""); // faProfile
  f.push(""); // modelCode
  f.push("", "", UNSET_DOUBLE, ""); // goodTillDate, rule80A, percentOffset, settlingFirm
  f.push(0, "", -1); // shortSaleSlot, designatedLocation, exemptCode
  f.push(0); // auctionStrategy
  f.push(UNSET_DOUBLE, UNSET_DOUBLE, UNSET_DOUBLE); // startingPrice, stockRefPrice, delta
  f.push(UNSET_DOUBLE, UNSET_DOUBLE); // stockRangeLower/Upper
  f.push(UNSET_INT); // displaySize
  f.push(0, 0, 0); // blockOrder, sweepToFill, allOrNone
  f.push(UNSET_INT, 3, 0, 0, UNSET_DOUBLE); // minQty, ocaType, eTradeOnly, firmQuoteOnly, nbboPriceCap
  f.push(0, 0); // parentId, triggerMethod
  f.push(UNSET_DOUBLE, 0, "None", UNSET_DOUBLE); // volatility, volatilityType, deltaNeutralOrderType, deltaNeutralAuxPrice
  // "None" is a non-empty delta-neutral order type, so the delta-neutral block follows (as TWS sends it)
  f.push(0, "", "", ""); // deltaNeutralConId, settlingFirm, clearingAccount, clearingIntent
  f.push("", 0, 0, ""); // deltaNeutralOpenClose, shortSale, shortSaleSlot, designatedLocation
  f.push(0, 0); // continuousUpdate, referencePriceType
  f.push(UNSET_DOUBLE, UNSET_DOUBLE); // trailStopPrice, trailingPercent
  f.push(UNSET_DOUBLE, UNSET_INT); // basisPoints, basisPointsType
  const bag = o.secType === "BAG";
  f.push(bag ? o.legs.map((l) => `${l.conId}|${l.action === "BUY" ? l.ratio : -l.ratio}`).join(",") : "");
  f.push(o.legs.length);
  for (const l of o.legs) f.push(l.conId, l.ratio, l.action, l.exchange, 0, 0, "", -1);
  f.push(0); // orderComboLegs count (no per-leg prices)
  f.push(0); // smartComboRoutingParams count
  f.push(UNSET_INT, UNSET_INT, UNSET_DOUBLE); // scaleInitLevelSize, scaleSubsLevelSize, scalePriceIncrement
  f.push(""); // hedgeType
  f.push(0); // optOutSmartRouting
  f.push("", ""); // clearingAccount, clearingIntent
  f.push(0); // notHeld
  f.push(0); // deltaNeutralContract present
  f.push(""); // algoStrategy
  f.push(0); // solicited
  f.push(whatIf ? 1 : 0, status);
  const w = whatIf;
  const m = (x: number | undefined): Field => (x === undefined ? UNSET_DOUBLE : x);
  f.push(m(w?.initMarginBefore), m(w?.maintMarginBefore), m(w?.equityWithLoanBefore));
  f.push(m(w?.initMarginChange), m(w?.maintMarginChange), m(w?.equityWithLoanChange));
  f.push(m(w?.initMarginAfter), m(w?.maintMarginAfter), m(w?.equityWithLoanAfter));
  f.push(m(w?.commission), m(w?.minCommission), m(w?.maxCommission), w ? "USD" : "", w?.warningText ?? "");
  f.push(0, 0); // randomizeSize, randomizePrice
  f.push(0); // conditions count (none, so no conditionsIgnoreRth/cancelOrder)
  f.push("", UNSET_DOUBLE, UNSET_DOUBLE, UNSET_DOUBLE, UNSET_DOUBLE, UNSET_DOUBLE, UNSET_DOUBLE, 0); // adjusted* fields
  f.push("", "", ""); // softDollarTier name, value, displayName
  f.push(UNSET_DOUBLE); // cashQty
  f.push(0); // dontUseAutoPriceForHedge
  f.push(0); // isOmsContainer
  f.push(0); // discretionaryUpToLimitPrice
  f.push(0); // usePriceMgmtAlgo
  f.push(UNSET_INT); // duration
  f.push(UNSET_INT); // postToAts
  f.push(0); // autoCancelParent
  f.push(UNSET_INT, UNSET_INT, UNSET_DOUBLE, UNSET_DOUBLE, UNSET_DOUBLE); // minTradeQty .. midOffsetAtHalf
  if (sv >= SV.CUSTOMER_ACCOUNT) f.push("");
  if (sv >= SV.PROFESSIONAL_CUSTOMER) f.push(0);
  if (sv >= SV.BOND_ACCRUED_INTEREST) f.push("");
  if (sv >= SV.INCLUDE_OVERNIGHT) f.push(0);
  if (sv >= SV.CME_TAGGING_FIELDS_IN_OPEN_ORDER) f.push("", UNSET_INT);
  return f;
}

export const openOrderEnd = (): Field[] => [IN.OPEN_ORDER_END, 1];

/**
 * COMPLETED_ORDER (reqCompletedOrders). No version field and no order id: IBKR's decoder reads it
 * with the message version at its maximum and a shorter field list than OPEN_ORDER (no clientId,
 * sharesAllocation, auctionStrategy, blockOrder, eTradeOnly/firmQuoteOnly/nbboPriceCap, parentId,
 * basisPoints, optOutSmartRouting, what-if block), and adds the completion fields at the end.
 * Modelled from FA_PROFILE_DESUPPORT (177) on, where the FA block has no faProfile either way.
 */
export function completedOrder(sv: number, o: SimOrder, completedTime: string): Field[] {
  if (sv < SV.FA_PROFILE_DESUPPORT) throw new Error(`COMPLETED_ORDER below server version ${SV.FA_PROFILE_DESUPPORT} is not modelled`);
  const f: Field[] = [IN.COMPLETED_ORDER, ...contractFields(o.contract)];
  f.push(o.action, o.totalQuantity, o.orderType, dbl(o.lmtPrice), dbl(o.auxPrice), o.tif, "", o.account, "", 0, o.orderRef, o.permId);
  f.push(o.outsideRth, 0, 0, ""); // outsideRth, hidden, discretionaryAmt, goodAfterTime
  f.push("", "", ""); // faGroup, faMethod, faPercentage
  f.push(""); // modelCode
  f.push("", "", UNSET_DOUBLE, ""); // goodTillDate, rule80A, percentOffset, settlingFirm
  f.push(0, "", -1); // shortSaleSlot, designatedLocation, exemptCode
  f.push(UNSET_DOUBLE, UNSET_DOUBLE, UNSET_DOUBLE); // startingPrice, stockRefPrice, delta
  f.push(UNSET_DOUBLE, UNSET_DOUBLE); // stockRangeLower/Upper
  f.push(UNSET_INT); // displaySize
  f.push(0, 0); // sweepToFill, allOrNone
  f.push(UNSET_INT, 3); // minQty, ocaType
  f.push(0); // triggerMethod
  f.push(UNSET_DOUBLE, 0, "None", UNSET_DOUBLE); // volatility, volatilityType, deltaNeutralOrderType, deltaNeutralAuxPrice
  // a non-empty delta-neutral type: its conId and short-sale fields follow (no open-order attributes here)
  f.push(0); // deltaNeutralConId
  f.push(0, 0, ""); // deltaNeutralShortSale, shortSaleSlot, designatedLocation
  f.push(0, 0); // continuousUpdate, referencePriceType
  f.push(UNSET_DOUBLE, UNSET_DOUBLE); // trailStopPrice, trailingPercent
  const bag = o.secType === "BAG";
  f.push(bag ? o.legs.map((l) => `${l.conId}|${l.action === "BUY" ? l.ratio : -l.ratio}`).join(",") : "");
  f.push(o.legs.length);
  for (const l of o.legs) f.push(l.conId, l.ratio, l.action, l.exchange, 0, 0, "", -1);
  f.push(0); // orderComboLegs count
  f.push(0); // smartComboRoutingParams count
  f.push(UNSET_INT, UNSET_INT, UNSET_DOUBLE); // scaleInitLevelSize, scaleSubsLevelSize, scalePriceIncrement
  f.push(""); // hedgeType
  f.push("", ""); // clearingAccount, clearingIntent
  f.push(0); // notHeld
  f.push(0); // deltaNeutralContract present
  f.push(""); // algoStrategy
  f.push(0); // solicited
  f.push(o.status);
  f.push(0, 0); // randomizeSize, randomizePrice
  f.push(0); // conditions count
  f.push(UNSET_DOUBLE, UNSET_DOUBLE); // trailStopPrice, lmtPriceOffset
  f.push(UNSET_DOUBLE); // cashQty
  f.push(0); // dontUseAutoPriceForHedge
  f.push(0); // isOmsContainer
  f.push(""); // autoCancelDate
  f.push(o.filled); // filledQuantity
  f.push(0); // refFuturesConId
  f.push(0); // autoCancelParent
  f.push(""); // shareholder
  f.push(0, 0); // imbalanceOnly, routeMarketableToBbo
  f.push(0); // parentPermId
  f.push(completedTime, o.completedStatus ?? (o.status === "Filled" ? "Filled" : "Cancelled by API")); // completedTime, completedStatus
  f.push(UNSET_INT, UNSET_INT, UNSET_DOUBLE, UNSET_DOUBLE, UNSET_DOUBLE); // minTradeQty .. midOffsetAtHalf
  if (sv >= SV.CUSTOMER_ACCOUNT) f.push("");
  if (sv >= SV.PROFESSIONAL_CUSTOMER) f.push(0);
  return f;
}

export const completedOrdersEnd = (): Field[] => [IN.COMPLETED_ORDERS_END];

export function execDetails(sv: number, reqId: number, e: SimExecution): Field[] {
  const f: Field[] = [IN.EXECUTION_DATA];
  if (sv < SV.LAST_LIQUIDITY) f.push(10);
  const c = e.contract;
  f.push(reqId, e.orderId, c.conId, c.symbol, c.secType, c.expiry, c.strike, c.right, c.secType === "OPT" ? c.multiplier : "");
  f.push("SMART", c.currency, c.localSymbol, c.tradingClass);
  f.push(e.execId, e.time, e.account, c.secType === "OPT" ? "CBOE" : "ARCA", e.side, e.shares, e.price, e.permId, e.clientId, 0);
  f.push(e.cumQty, e.avgPrice, e.orderRef, "", "");
  if (sv >= SV.MODELS_SUPPORT) f.push("");
  if (sv >= SV.LAST_LIQUIDITY) f.push(e.liquidity ?? 2); // 2, removed: a marketable order took the quote
  if (sv >= SV.PENDING_PRICE_REVISION) f.push(0);
  return f;
}
export const execDetailsEnd = (reqId: number): Field[] => [IN.EXECUTION_DATA_END, 1, reqId];

export function commissionReport(e: SimExecution): Field[] {
  return [IN.COMMISSION_REPORT, 1, e.execId, e.commission, "USD", dbl(e.realizedPnL), UNSET_DOUBLE, ""];
}

function posContract(c: SimContract): Field[] {
  return [c.conId, c.symbol, c.secType, c.expiry, c.strike, c.right, c.secType === "OPT" ? c.multiplier : "", "", c.currency, c.localSymbol, c.tradingClass];
}

export function position(acct: string, c: SimContract, qty: number, avgCost: number): Field[] {
  return [IN.POSITION, 3, acct, ...posContract(c), qty, avgCost];
}
export const positionEnd = (): Field[] => [IN.POSITION_END, 1];

export const accountSummary = (reqId: number, acct: string, tag: string, value: string, currency: string): Field[] =>
  [IN.ACCOUNT_SUMMARY, 1, reqId, acct, tag, value, currency];
export const accountSummaryEnd = (reqId: number): Field[] => [IN.ACCOUNT_SUMMARY_END, 1, reqId];

export const acctValue = (key: string, value: string, currency: string, acct: string): Field[] => [IN.ACCT_VALUE, 2, key, value, currency, acct];

export function portfolioValue(c: SimContract, qty: number, mktPrice: number, mktValue: number, avgCost: number, unreal: number, realized: number, acct: string): Field[] {
  return [
    IN.PORTFOLIO_VALUE, 8, c.conId, c.symbol, c.secType, c.expiry, c.strike, c.right, c.secType === "OPT" ? c.multiplier : "",
    c.primaryExch, c.currency, c.localSymbol, c.tradingClass, qty, mktPrice, mktValue, avgCost, unreal, realized, acct,
  ];
}
export const acctUpdateTime = (hhmm: string): Field[] => [IN.ACCT_UPDATE_TIME, 1, hhmm];
export const acctDownloadEnd = (acct: string): Field[] => [IN.ACCT_DOWNLOAD_END, 1, acct];

export function pnl(sv: number, reqId: number, daily: number, unreal: number, realized: number): Field[] {
  const f: Field[] = [IN.PNL, reqId, daily];
  if (sv >= SV.UNREALIZED_PNL) f.push(unreal);
  if (sv >= SV.REALIZED_PNL) f.push(realized);
  return f;
}

export function pnlSingle(sv: number, reqId: number, pos: number, daily: number, unreal: number, realized: number, value: number): Field[] {
  const f: Field[] = [IN.PNL_SINGLE, reqId, pos, daily];
  if (sv >= SV.UNREALIZED_PNL) f.push(unreal);
  if (sv >= SV.REALIZED_PNL) f.push(realized);
  f.push(value);
  return f;
}

/**
 * HISTORICAL_DATA (17). From SYNT_REALTIME_BARS (124) no version field and each bar ends with its
 * trade count; below HISTORICAL_DATA_END (196, not served) the start and end of the range follow
 * the request id. Volume and WAP are decimals.
 */
export function historicalData(reqId: number, start: string, end: string, bars: { date: string; open: number; high: number; low: number; close: number; volume: number; wap: number; count: number }[]): Field[] {
  const f: Field[] = [IN.HISTORICAL_DATA, reqId, start, end, bars.length];
  for (const b of bars) f.push(b.date, b.open, b.high, b.low, b.close, b.volume, b.wap, b.count);
  return f;
}
