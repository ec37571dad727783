/**
 * One request's AbortSignal: aborted when its time is up or when `cancel` aborts, whichever comes
 * first. `done()` ends it once the request, body included, is over.
 *
 * Not `AbortSignal.any([AbortSignal.timeout(ms), cancel])`: in Node 20, `AbortSignal.any()` adds
 * a WeakRef to every signal it makes to a Set on each source signal, and never prunes that Set
 * while the source lives. The drainer's cancel signal lives as long as the gateway, so every batch
 * written to InfluxDB left ~62 bytes behind for good: ~12,600 WeakRefs a minute at 2,000
 * readings/s, the growth the bench's soak showed (docs/decisions.md). `AbortSignal.timeout()` also
 * keeps its timer armed for the whole timeout after the request is over; here it is cleared.
 */
export interface Deadline {
  readonly signal: AbortSignal;
  /** True when the time ran out (not `cancel`): the caller words its error from this. */
  readonly timedOut: boolean;
  /** Clears the timer and stops listening to `cancel`. Idempotent. */
  done(): void;
}

export function deadline(timeoutMs: number, cancel?: AbortSignal): Deadline {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    if (controller.signal.aborted) return; // cancelled first: not a timeout
    timedOut = true;
    // The same reason AbortSignal.timeout() gives, so fetch's error reads the same.
    controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
  }, timeoutMs);
  // Like AbortSignal.timeout(): a pending request's deadline alone does not keep the process up.
  timer.unref();
  const onCancel = (): void => controller.abort(cancel?.reason);
  if (cancel?.aborted === true) controller.abort(cancel.reason);
  else cancel?.addEventListener('abort', onCancel, { once: true });
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    done() {
      clearTimeout(timer);
      cancel?.removeEventListener('abort', onCancel);
    },
  };
}
