import t from 'tap';
import { modeSuite } from './mode-suite.js';
import { noSshd } from './harness.js';

if (noSshd) t.test('sshd mode', { skip: noSshd }, () => {});
else modeSuite(t, 'sshd', '127.78.2.0/24');
