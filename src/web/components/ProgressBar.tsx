/** A labelled progress bar: `value` of `max` (bigints allowed, shown as a percentage). */
export function ProgressBar({ label, value, max }: { readonly label: string; readonly value: bigint | number; readonly max: bigint | number }) {
  const top = BigInt(max);
  // Integer math: per-mille of max, so bigints far above 2^53 still draw right.
  const permille = top === 0n ? 0 : Number((BigInt(value) * 1000n) / top);
  const clamped = Math.max(0, Math.min(1000, permille));
  return (
    <div className="progress">
      <progress aria-label={label} max={1000} value={clamped} />
      <span className="muted">{(clamped / 10).toFixed(1)} %</span>
    </div>
  );
}
