import { createMediaContext, type TesseraMediaContext } from '@tessera/connectors';
import type { TesseraConfig } from '@tessera/runtime';
import { testMediaPolicy } from './env';

/** The media context a worker of this test config builds (its destination, cache and the test media policy). */
export function testMediaContext(cfg: TesseraConfig & { env?: Record<string, string> }): TesseraMediaContext {
  return createMediaContext({ defaultDestination: cfg.mediaDestination, cacheDir: cfg.cacheDir, policy: testMediaPolicy(cfg.env) });
}
