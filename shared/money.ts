// Money formatting and rounding used in every refusal message, so the edge and the bridge say
// the same amount the same way (`$1,234.50`).

/** Round to whole cents, away from float noise (0.1 + 0.2 → 0.3). */
export function roundCents(value: number): number {
  return Math.round((value + Number.EPSILON * Math.sign(value)) * 100) / 100;
}

const usd = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** `$1,234.50`, `-$20.00`. */
export function formatUsd(value: number): string {
  const rounded = roundCents(value);
  const text = usd.format(Math.abs(rounded));
  return rounded < 0 ? `-$${text}` : `$${text}`;
}

/** `30.0%` from 0.3. */
export function formatPct(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}
