// Shared shapes of the simulator's orders and executions (what tests and the control port see).
// Kept apart from the engine so the wire encoder can use them without importing engine code.

import type { SimContract, SecType } from "./market";

export interface OrderLeg {
  conId: number;
  ratio: number;
  action: "BUY" | "SELL";
  exchange: string;
  contract: SimContract;
}

export interface OrderContract {
  conId: number;
  symbol: string;
  secType: SecType;
  expiry: string;
  strike: number;
  right: string;
  multiplier: number | "";
  exchange: string;
  currency: string;
  localSymbol: string;
  tradingClass: string;
}

export type SimOrderStatus =
  | "NotTransmitted" // transmit=false: TWS keeps it locally and sends nothing
  | "PreSubmitted"
  | "Submitted"
  | "Filled"
  | "Cancelled"
  | "Inactive"
  | "Rejected"; // simulator-only bookkeeping for 110/200/201; never sent over the wire

export interface SimOrder {
  orderId: number;
  clientId: number;
  permId: number;
  account: string;
  orderRef: string;
  contract: OrderContract;
  secType: SecType;
  legs: OrderLeg[];
  action: "BUY" | "SELL";
  totalQuantity: number;
  orderType: string;
  lmtPrice?: number;
  auxPrice?: number;
  tif: string;
  transmit: boolean;
  outsideRth: boolean;
  status: SimOrderStatus;
  filled: number;
  remaining: number;
  avgFillPrice: number;
  lastFillPrice: number;
  commission: number;
  rejectCode?: number;
  rejectReason?: string;
  /** TWS's words on how a finished order ended (COMPLETED_ORDER's completedStatus), when not the default. */
  completedStatus?: string;
  createdAt: number;
  updatedAt: number;
}

export interface SimExecution {
  execId: string;
  orderId: number;
  clientId: number;
  permId: number;
  orderRef: string;
  account: string;
  conId: number;
  symbol: string;
  secType: "STK" | "OPT";
  contract: SimContract;
  side: "BOT" | "SLD";
  shares: number;
  price: number;
  cumQty: number;
  avgPrice: number;
  time: string; // "yyyyMMdd HH:mm:ss US/Eastern", as TWS formats it for an ET login
  timeMs: number;
  commission: number;
  /** lastLiquidity: 2 (removed) for a marketable order's fill, 0 (none) for an exercise, assignment or lapse. */
  liquidity?: number;
  realizedPnL?: number;
}

/** Margin/commission answer of a whatIf order (the OrderState fields TWS fills in). */
export interface WhatIfState {
  initMarginBefore: number;
  maintMarginBefore: number;
  equityWithLoanBefore: number;
  initMarginChange: number;
  maintMarginChange: number;
  equityWithLoanChange: number;
  initMarginAfter: number;
  maintMarginAfter: number;
  equityWithLoanAfter: number;
  commission: number;
  minCommission: number;
  maxCommission: number;
  warningText: string;
}
