import t from 'tap';
import { modeSuite } from './mode-suite.js';

modeSuite(t, 'ssh2', '127.78.1.0/24');
