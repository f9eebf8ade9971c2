// Incoming TWS requests (client → server): field layouts per server version, as IBKR's EClient
// writes them. Every parser reads its message to the last field; leftover fields are reported
// so a layout mistake on either side shows up in tests instead of passing silently.

import { FieldReader } from "./framing";

export const OUT = {
  REQ_MKT_DATA: 1, CANCEL_MKT_DATA: 2, PLACE_ORDER: 3, CANCEL_ORDER: 4, REQ_OPEN_ORDERS: 5, REQ_ACCOUNT_DATA: 6,
  REQ_EXECUTIONS: 7, REQ_IDS: 8, REQ_CONTRACT_DATA: 9, REQ_AUTO_OPEN_ORDERS: 15, REQ_ALL_OPEN_ORDERS: 16,
  REQ_MANAGED_ACCTS: 17, REQ_CURRENT_TIME: 49, REQ_GLOBAL_CANCEL: 58, REQ_MARKET_DATA_TYPE: 59, REQ_POSITIONS: 61,
  REQ_ACCOUNT_SUMMARY: 62, CANCEL_ACCOUNT_SUMMARY: 63, CANCEL_POSITIONS: 64, START_API: 71, REQ_SEC_DEF_OPT_PARAMS: 78,
  REQ_PNL: 92, CANCEL_PNL: 93, REQ_PNL_SINGLE: 94, CANCEL_PNL_SINGLE: 95, REQ_COMPLETED_ORDERS: 99, REQ_HISTORICAL_DATA: 20, CANCEL_HISTORICAL_DATA: 25,
} as const;

export interface WireContract {
  conId?: number;
  symbol: string;
  secType: string;
  expiry: string;
  strike?: number;
  right: string;
  multiplier: string;
  exchange: string;
  primaryExch: string;
  currency: string;
  localSymbol: string;
  tradingClass: string;
}

export interface WireLeg {
  conId: number;
  ratio: number;
  action: string;
  exchange: string;
}

export interface PlaceOrderReq {
  orderId: number;
  contract: WireContract;
  legs: WireLeg[];
  action: string;
  totalQuantity: number;
  orderType: string;
  lmtPrice?: number;
  auxPrice?: number;
  tif: string;
  account: string;
  orderRef: string;
  transmit: boolean;
  outsideRth: boolean;
  whatIf: boolean;
}

export type Request =
  | { type: "startApi"; clientId: number }
  | { type: "reqMktData"; reqId: number; contract: WireContract; legs: WireLeg[]; genericTicks: string; snapshot: boolean }
  | { type: "cancelMktData"; reqId: number }
  | { type: "placeOrder"; order: PlaceOrderReq }
  | { type: "cancelOrder"; orderId: number }
  | { type: "reqOpenOrders" }
  | { type: "reqAllOpenOrders" }
  | { type: "reqAutoOpenOrders"; autoBind: boolean }
  | { type: "reqAccountUpdates"; subscribe: boolean; account: string }
  | { type: "reqExecutions"; reqId: number; filter: { clientId: number; account: string; time: string; symbol: string; secType: string; exchange: string; side: string } }
  | { type: "reqIds"; numIds: number }
  | { type: "reqContractDetails"; reqId: number; contract: WireContract }
  | { type: "reqManagedAccts" }
  | { type: "reqCurrentTime" }
  | { type: "reqGlobalCancel" }
  | { type: "reqCompletedOrders"; apiOnly: boolean }
  | { type: "reqMarketDataType"; marketDataType: number }
  | { type: "reqPositions" }
  | { type: "cancelPositions" }
  | { type: "reqAccountSummary"; reqId: number; group: string; tags: string }
  | { type: "cancelAccountSummary"; reqId: number }
  | { type: "reqSecDefOptParams"; reqId: number; symbol: string; futFopExchange: string; secType: string; conId: number }
  | { type: "reqPnL"; reqId: number; account: string; modelCode: string }
  | { type: "cancelPnL"; reqId: number }
  | { type: "reqPnLSingle"; reqId: number; account: string; modelCode: string; conId: number }
  | { type: "cancelPnLSingle"; reqId: number }
  | {
      type: "reqHistoricalData"; reqId: number; contract: WireContract; legs: WireLeg[]; endDateTime: string; barSize: string; duration: string;
      useRth: boolean; whatToShow: string; formatDate: number; keepUpToDate: boolean;
    }
  | { type: "cancelHistoricalData"; reqId: number }
  | { type: "unsupported"; msgId: number };

export interface Decoded {
  request: Request;
  leftover: number;
}

const SV = {
  FA_PROFILE_DESUPPORT: 177,
  MANUAL_ORDER_TIME: 169,
  PEGBEST_PEGMID_OFFSETS: 170,
  BOND_ISSUERID: 176,
  CUSTOMER_ACCOUNT: 183,
  PROFESSIONAL_CUSTOMER: 184,
  RFQ_FIELDS: 187,
  INCLUDE_OVERNIGHT: 189,
  UNDO_RFQ_FIELDS: 190,
  CME_TAGGING_FIELDS: 192,
} as const;

function contractHead(r: FieldReader): WireContract {
  const conId = r.int();
  return {
    conId: conId || undefined,
    symbol: r.str(),
    secType: r.str(),
    expiry: r.str(),
    strike: r.num(),
    right: r.str(),
    multiplier: r.str(),
    exchange: r.str(),
    primaryExch: r.str(),
    currency: r.str(),
    localSymbol: r.str(),
    tradingClass: r.str(),
  };
}

export function decodeRequest(sv: number, fields: string[]): Decoded {
  const r = new FieldReader(fields);
  const msgId = r.int();
  const request = parse(sv, msgId, r);
  return { request, leftover: request.type === "unsupported" ? 0 : r.remaining };
}

function parse(sv: number, msgId: number, r: FieldReader): Request {
  switch (msgId) {
    case OUT.START_API: {
      r.int(); // version
      const clientId = r.int();
      if (r.remaining) r.str(); // optional capabilities
      return { type: "startApi", clientId };
    }
    case OUT.REQ_MKT_DATA: {
      r.int();
      const reqId = r.int();
      const contract = contractHead(r);
      const legs: WireLeg[] = [];
      if (contract.secType.toUpperCase() === "BAG") {
        const n = r.int();
        for (let i = 0; i < n; i++) legs.push({ conId: r.int(), ratio: r.int(), action: r.str(), exchange: r.str() });
      }
      if (r.bool()) r.skip(3); // delta-neutral contract
      const genericTicks = r.str();
      const snapshot = r.bool();
      r.bool(); // regulatory snapshot
      r.str(); // mktDataOptions
      return { type: "reqMktData", reqId, contract, legs, genericTicks, snapshot };
    }
    case OUT.CANCEL_MKT_DATA:
      r.int();
      return { type: "cancelMktData", reqId: r.int() };
    case OUT.PLACE_ORDER:
      return { type: "placeOrder", order: parsePlaceOrder(sv, r) };
    case OUT.CANCEL_ORDER: {
      if (sv < SV.CME_TAGGING_FIELDS) r.int();
      const orderId = r.int();
      if (sv >= SV.MANUAL_ORDER_TIME) r.str();
      if (sv >= SV.RFQ_FIELDS && sv < SV.UNDO_RFQ_FIELDS) r.skip(3);
      if (sv >= SV.CME_TAGGING_FIELDS) r.skip(2);
      return { type: "cancelOrder", orderId };
    }
    case OUT.REQ_OPEN_ORDERS:
      r.int();
      return { type: "reqOpenOrders" };
    case OUT.REQ_ALL_OPEN_ORDERS:
      r.int();
      return { type: "reqAllOpenOrders" };
    case OUT.REQ_AUTO_OPEN_ORDERS:
      r.int();
      return { type: "reqAutoOpenOrders", autoBind: r.bool() };
    case OUT.REQ_ACCOUNT_DATA:
      r.int();
      return { type: "reqAccountUpdates", subscribe: r.bool(), account: r.str() };
    case OUT.REQ_EXECUTIONS: {
      r.int();
      const reqId = r.int();
      const filter = { clientId: r.int(), account: r.str(), time: r.str(), symbol: r.str(), secType: r.str(), exchange: r.str(), side: r.str() };
      return { type: "reqExecutions", reqId, filter };
    }
    case OUT.REQ_IDS:
      r.int();
      return { type: "reqIds", numIds: r.int() };
    case OUT.REQ_CONTRACT_DATA: {
      r.int();
      const reqId = r.int();
      const contract = contractHead(r);
      r.bool(); // includeExpired
      r.skip(2); // secIdType, secId
      if (sv >= SV.BOND_ISSUERID) r.str(); // issuerId
      return { type: "reqContractDetails", reqId, contract };
    }
    case OUT.REQ_MANAGED_ACCTS:
      r.int();
      return { type: "reqManagedAccts" };
    case OUT.REQ_CURRENT_TIME:
      r.int();
      return { type: "reqCurrentTime" };
    case OUT.REQ_COMPLETED_ORDERS:
      // No version field: the message is its id and the apiOnly flag.
      return { type: "reqCompletedOrders", apiOnly: r.bool() };
    case OUT.REQ_GLOBAL_CANCEL:
      if (sv < SV.CME_TAGGING_FIELDS) r.int();
      else r.skip(2);
      return { type: "reqGlobalCancel" };
    case OUT.REQ_MARKET_DATA_TYPE:
      r.int();
      return { type: "reqMarketDataType", marketDataType: r.int() };
    case OUT.REQ_POSITIONS:
      r.int();
      return { type: "reqPositions" };
    case OUT.CANCEL_POSITIONS:
      r.int();
      return { type: "cancelPositions" };
    case OUT.REQ_ACCOUNT_SUMMARY:
      r.int();
      return { type: "reqAccountSummary", reqId: r.int(), group: r.str(), tags: r.str() };
    case OUT.CANCEL_ACCOUNT_SUMMARY:
      r.int();
      return { type: "cancelAccountSummary", reqId: r.int() };
    case OUT.REQ_SEC_DEF_OPT_PARAMS:
      return { type: "reqSecDefOptParams", reqId: r.int(), symbol: r.str(), futFopExchange: r.str(), secType: r.str(), conId: r.int() };
    case OUT.REQ_PNL:
      return { type: "reqPnL", reqId: r.int(), account: r.str(), modelCode: r.str() };
    case OUT.CANCEL_PNL:
      return { type: "cancelPnL", reqId: r.int() };
    case OUT.REQ_PNL_SINGLE:
      return { type: "reqPnLSingle", reqId: r.int(), account: r.str(), modelCode: r.str(), conId: r.int() };
    case OUT.CANCEL_PNL_SINGLE:
      return { type: "cancelPnLSingle", reqId: r.int() };
    case OUT.REQ_HISTORICAL_DATA: {
      // From SYNT_REALTIME_BARS (124) there is no version field; the contract carries its conId
      // and tradingClass (TRADING_CLASS, 68); then includeExpired and the request's own fields.
      if (sv < 124) r.int();
      const reqId = r.int();
      const contract = contractHead(r);
      r.bool(); // includeExpired
      const endDateTime = r.str();
      const barSize = r.str();
      const duration = r.str();
      const useRth = r.bool();
      const whatToShow = r.str();
      const formatDate = r.int();
      const legs: WireLeg[] = [];
      if (contract.secType.toUpperCase() === "BAG") {
        const n = r.int();
        for (let i = 0; i < n; i++) legs.push({ conId: r.int(), ratio: r.int(), action: r.str(), exchange: r.str() });
      }
      const keepUpToDate = r.bool();
      r.str(); // chartOptions (tag-value list)
      return { type: "reqHistoricalData", reqId, contract, legs, endDateTime, barSize, duration, useRth, whatToShow, formatDate, keepUpToDate };
    }
    case OUT.CANCEL_HISTORICAL_DATA:
      r.int();
      return { type: "cancelHistoricalData", reqId: r.int() };
    default:
      return { type: "unsupported", msgId };
  }
}

function parsePlaceOrder(sv: number, r: FieldReader): PlaceOrderReq {
  if (sv < 145) r.int(); // version field before ORDER_CONTAINER
  const orderId = r.int();
  const contract = contractHead(r);
  r.skip(2); // secIdType, secId
  const action = r.str();
  const totalQuantity = r.num() ?? 0;
  const orderType = r.str();
  const lmtPrice = r.num();
  const auxPrice = r.num();
  const tif = r.str();
  r.str(); // ocaGroup
  const account = r.str();
  r.str(); // openClose
  r.str(); // origin
  const orderRef = r.str();
  const transmit = r.bool();
  r.int(); // parentId
  r.skip(4); // blockOrder, sweepToFill, displaySize, triggerMethod
  const outsideRth = r.bool();
  r.bool(); // hidden
  const legs: WireLeg[] = [];
  if (contract.secType.toUpperCase() === "BAG") {
    const n = r.int();
    for (let i = 0; i < n; i++) {
      legs.push({ conId: r.int(), ratio: r.int(), action: r.str(), exchange: r.str() });
      r.skip(4); // openClose, shortSaleSlot, designatedLocation, exemptCode
    }
    r.skip(r.int()); // per-leg prices
    r.skip(r.int() * 2); // smart combo routing params
  }
  r.str(); // deprecated sharesAllocation
  r.skip(3); // discretionaryAmt, goodAfterTime, goodTillDate
  r.skip(3); // faGroup, faMethod, faPercentage
  if (sv < SV.FA_PROFILE_DESUPPORT) r.str();
  r.str(); // modelCode
  r.skip(3); // shortSaleSlot, designatedLocation, exemptCode
  r.skip(2); // ocaType, rule80A
  r.skip(14); // settlingFirm .. stockRangeUpper (13), overridePercentageConstraints
  r.skip(2); // volatility, volatilityType
  const dnType = r.str();
  r.str(); // deltaNeutralAuxPrice
  if (dnType !== "") r.skip(8);
  r.skip(2); // continuousUpdate, referencePriceType
  r.skip(2); // trailStopPrice, trailingPercent
  r.skip(2); // scaleInitLevelSize, scaleSubsLevelSize
  const scaleIncr = r.num();
  if (scaleIncr !== undefined) r.skip(7);
  r.skip(3); // scaleTable, activeStartTime, activeStopTime
  const hedgeType = r.str();
  if (hedgeType !== "") r.str();
  r.bool(); // optOutSmartRouting
  r.skip(2); // clearingAccount, clearingIntent
  r.bool(); // notHeld
  if (r.bool()) r.skip(3); // delta-neutral contract
  const algo = r.str();
  if (algo !== "") r.skip(r.int() * 2);
  r.str(); // algoId
  const whatIf = r.bool();
  r.str(); // orderMiscOptions
  r.bool(); // solicited
  r.skip(2); // randomizeSize, randomizePrice
  if (orderType.toUpperCase() === "PEG BENCH") r.skip(5);
  const nCond = r.int();
  for (let i = 0; i < nCond; i++) skipCondition(r);
  if (nCond > 0) r.skip(2);
  r.skip(7); // adjusted order fields
  r.str(); // extOperator
  r.skip(2); // softDollarTier name, value
  r.str(); // cashQty
  r.skip(4); // mifid2 fields
  r.skip(6); // dontUseAutoPriceForHedge, isOmsContainer, discretionaryUpToLimitPrice, usePriceMgmtAlgo, duration, postToAts
  r.str(); // autoCancelParent
  r.str(); // advancedErrorOverride
  r.str(); // manualOrderTime
  if (sv >= SV.PEGBEST_PEGMID_OFFSETS) {
    const ot = orderType.toUpperCase();
    if (contract.exchange === "IBKRATS") r.str();
    if (ot === "PEG BEST") {
      r.skip(2);
      // compete-against-best up to mid carries the mid offsets too; we cannot tell from here
      // without the offset value, so read them only when more fields follow
      if (r.remaining >= 2 + trailingFieldCount(sv)) r.skip(2);
    } else if (ot === "PEG MID") r.skip(2);
  }
  if (sv >= SV.CUSTOMER_ACCOUNT) r.str();
  if (sv >= SV.PROFESSIONAL_CUSTOMER) r.str();
  if (sv >= SV.RFQ_FIELDS && sv < SV.UNDO_RFQ_FIELDS) r.skip(2);
  if (sv >= SV.INCLUDE_OVERNIGHT) r.str();
  if (sv >= SV.CME_TAGGING_FIELDS) r.str();
  return {
    orderId, contract, legs, action: action.toUpperCase(), totalQuantity, orderType: orderType.toUpperCase(),
    lmtPrice, auxPrice, tif, account, orderRef, transmit, outsideRth, whatIf,
  };
}

function trailingFieldCount(sv: number): number {
  let n = 0;
  if (sv >= SV.CUSTOMER_ACCOUNT) n++;
  if (sv >= SV.PROFESSIONAL_CUSTOMER) n++;
  if (sv >= SV.RFQ_FIELDS && sv < SV.UNDO_RFQ_FIELDS) n += 2;
  if (sv >= SV.INCLUDE_OVERNIGHT) n++;
  if (sv >= SV.CME_TAGGING_FIELDS) n++;
  return n;
}

function skipCondition(r: FieldReader): void {
  const type = r.int();
  r.str(); // conjunction
  switch (type) {
    case 1: r.skip(5); break; // price: isMore, value, conId, exchange, triggerMethod
    case 3: r.skip(2); break; // time
    case 4: r.skip(2); break; // margin
    case 5: r.skip(3); break; // execution
    case 6: r.skip(4); break; // volume
    case 7: r.skip(4); break; // percent change
    default: break;
  }
}
