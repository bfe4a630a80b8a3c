import os from 'node:os';
import { MediaPolicy } from '@tessera/connectors';

/** These tests read files they wrote under the temp directory and local servers on 127.0.0.1: allowed explicitly. */
export const testMediaPolicy = () => new MediaPolicy({ roots: [os.tmpdir()], allowAddresses: ['127.0.0.0/8', '::1'] });
