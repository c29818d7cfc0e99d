/**
 * ControlSocketGroup → group ID. Node has no getgrnam(), so names are looked
 * up in /etc/group (the groups systemd's sysusers and adduser create); a
 * group known only to another NSS source (LDAP, …) is given by number.
 */
import { readFileSync } from 'node:fs';
import { ControlSocketError, ControlSocketErrorCode } from './errors.js';

export const GROUP_FILE = '/etc/group';

/** The ID of `group` (a name, or a number as text). Throws ControlSocketError NO_SUCH_GROUP. */
export function resolveGroupId(group: string, groupFile = GROUP_FILE): number {
  if (/^\d+$/.test(group)) {
    const gid = Number(group);
    if (Number.isSafeInteger(gid) && gid < 2 ** 32) return gid;
    throw new ControlSocketError(ControlSocketErrorCode.NO_SUCH_GROUP, `group ID ${group} is out of range`);
  }
  let text: string;
  try {
    text = readFileSync(groupFile, 'utf8');
  } catch (error) {
    throw new ControlSocketError(
      ControlSocketErrorCode.NO_SUCH_GROUP,
      `cannot look up group ${group}: cannot read ${groupFile}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length < 3 || fields[0] !== group) continue;
    const gid = Number(fields[2]);
    if (fields[2] !== '' && Number.isSafeInteger(gid) && gid >= 0) return gid;
  }
  throw new ControlSocketError(
    ControlSocketErrorCode.NO_SUCH_GROUP,
    `ControlSocketGroup ${group}: no such group in ${groupFile} (create it, or give its number)`,
  );
}
