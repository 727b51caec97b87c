import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRoot } from './binaries';

// PostgreSQL and MariaDB refuse to run as root, so as root each runs as its Debian package's system user
// (`postgres`, `mysql`) and its folder becomes that user's.

/** A Unix account's ids, as spawn() takes them. */
export interface UnixUser {
  uid: number;
  gid: number;
}

/** uid and gid of a system user, from /etc/passwd or `id`; throws saying how to create it when there is none. */
export function systemUser(name: string, server: string): UnixUser {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith(`${name}:`));
  if (line) {
    const [, , uid, gid] = line.split(':');

    return { uid: Number(uid), gid: Number(gid) };
  }
  const id = (flag: string) => spawnSync('id', [flag, name], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0 || gid.status !== 0) {
    throw new Error(`${server} cannot run as root and there is no \`${name}\` user (create one: useradd -r ${name})`);
  }

  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** chown -R, skipping entries that already belong to the user. */
export function chownRecursive(target: string, user: UnixUser): void {
  const stat = lstatSync(target);
  if (stat.uid !== user.uid || stat.gid !== user.gid) lchownSync(target, user.uid, user.gid);
  if (!stat.isDirectory()) return;
  for (const entry of readdirSync(target)) chownRecursive(join(target, entry), user);
}

/** Whether `user` can write into and enter `dir` (tested by running `test` as that user: exact, ACLs included). */
function canUse(dir: string, user: UnixUser): boolean {
  const result = spawnSync('test', ['-w', dir, '-a', '-x', dir], { ...user, cwd: '/' });

  return result.status === 0;
}

/**
 * Creates a server's folder and, as root, makes it the system user's. A folder that user cannot reach (under
 * /root, say) is replaced by one under os.tmpdir(), `spillway-<kind>-<hash>`, named after the requested path so
 * that a later run finds it again. Returns the folder to use.
 */
export function prepareServerDir(
  requested: string,
  { userName, server, kind }: { userName: string; server: string; kind: string },
): string {
  mkdirSync(requested, { recursive: true });
  if (!isRoot()) return requested;
  const user = systemUser(userName, server);
  chownRecursive(requested, user);
  if (canUse(requested, user)) return requested;

  const hash = createHash('sha256').update(requested).digest('hex').slice(0, 10);
  const fallback = join(tmpdir(), `spillway-${kind}-${hash}`);
  process.stderr.write(
    `spillway: user ${userName} cannot reach ${requested}; ${server} data goes to ${fallback} instead\n`,
  );
  mkdirSync(fallback, { recursive: true, mode: 0o700 });
  chownRecursive(fallback, user);

  return fallback;
}
