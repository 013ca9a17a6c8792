import { createHmac, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** File next to config.toml that holds the system id (GitLab Runner's name). */
export const SYSTEM_ID_FILE = '.runner_system_id';
const VALID = /^[rs]_[a-zA-Z0-9]{12}$/;

function machineId(): string {
  for (const f of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      const id = readFileSync(f, 'utf8').trim();
      if (id) return id;
    } catch {
      // try the next one
    }
  }
  return '';
}

/** `s_` + 12 hex of HMAC-SHA256(machine id, "gitlab-runner"), or `r_` + 12 random characters without a machine id. */
export function generateSystemId(): string {
  const id = machineId();
  if (id) return 's_' + createHmac('sha256', id).update('gitlab-runner').digest('hex').slice(0, 12);
  const charset = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let s = 'r_';
  for (let i = 0; i < 12; i++) s += charset[randomInt(charset.length)];
  return s;
}

/**
 * The manager's system id, read from `.runner_system_id` in the config directory, or generated and saved there
 * (mode 0600) when the file is missing or invalid. A save that fails keeps the generated id for this run.
 */
export async function loadSystemId(configFile: string): Promise<string> {
  const file = join(dirname(configFile), SYSTEM_ID_FILE);
  try {
    const text = (await readFile(file, 'utf8')).trim();
    if (VALID.test(text)) return text;
  } catch {
    // generate below
  }
  const id = generateSystemId();
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    await writeFile(file, id, { mode: 0o600 });
  } catch {
    // not fatal: the id is only stable across restarts when it can be saved
  }
  return id;
}
