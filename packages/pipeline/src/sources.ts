import { execFileSync, spawn } from 'node:child_process';
import { PassThrough, type Readable } from 'node:stream';

/**
 * The files `runner exec` ships to each job: inside a git work tree, the tracked and untracked-but-not-ignored files
 * (what `git status` would show, uncommitted edits included); otherwise the whole directory.
 */
export function sourceFileList(projectDir: string): string[] | undefined {
  try {
    const out = execFileSync('git', ['-C', projectDir, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      maxBuffer: 256 << 20,
    });
    return out.split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

/** A tar stream of the project sources, made by the manager's `tar` (a deleted-but-listed file is skipped). */
export function sourceArchive(projectDir: string, files: string[] | undefined): Readable {
  const args = files ? ['-cf', '-', '--ignore-failed-read', '--null', '-T', '-'] : ['-cf', '-', '.'];
  const child = spawn('tar', args, { cwd: projectDir, stdio: [files ? 'pipe' : 'ignore', 'pipe', 'ignore'] });
  if (files && child.stdin) child.stdin.end(files.map((f) => f + '\0').join(''));
  if (!child.stdout) throw new Error('tar: no stdout pipe');
  // Attach a reader at once: Node resumes (and so discards) an unread stdout when the child exits early.
  const out = new PassThrough();
  child.stdout.pipe(out);
  child.once('error', (err) => out.destroy(err));
  return out;
}
