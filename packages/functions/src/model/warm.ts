let ready: Promise<void> | undefined;

/**
 * Node loads its fetch implementation (undici) on the first call, which can take a few hundred ms on
 * a busy host. Do it before taking a rate-limit slot, so the time between a grant and the request
 * reaching the provider stays short (the fleet's headroom covers only that jitter).
 */
export function fetchReady(): Promise<void> {
  ready ??= fetch('data:text/plain,ok')
    .then((r) => r.text())
    .then(
      () => undefined,
      () => undefined,
    );
  return ready;
}
