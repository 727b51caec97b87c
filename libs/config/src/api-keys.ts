/**
 * INGEST_API_KEYS (or the file INGEST_API_KEYS_FILE names): entries separated by commas or line breaks.
 *
 * ```
 * entry       = key [ ":" collections [ ":" access ] ]
 * key         = 1*( visible ASCII except "," ":" "#" )
 * collections = "*" / name *( "+" name )      ; a collection's name as its file gives it
 * access      = "rw" / "ro"                   ; default rw
 * ```
 *
 * A bare `key` may read and write every collection, as before scopes existed. Lines that start with `#` (comments in
 * a keys file) and blank entries are left out; spaces around an entry are trimmed.
 */
export interface ApiKeyGrant {
  /** the bearer token */
  readonly key: string;
  /** the collections it may use; undefined for every one (`*`) */
  readonly collections?: readonly string[];
  /** `ro`: reads only */
  readonly readOnly: boolean;
}

/** What INGEST_API_KEYS grants, and what is wrong with it (one message per bad entry, never showing a key). */
export interface ApiKeysSetting {
  grants: ApiKeyGrant[];
  problems: string[];
}

const KEY_PATTERN = /^[\x21-\x7e]+$/;
const FORBIDDEN_IN_KEY = /[,:#]/;
const COLLECTION_NAME = /^[a-z][a-z0-9_]{0,62}$/;
const ACCESS = ['rw', 'ro'] as const;

/** The entries of the setting, comment lines and blanks left out. */
function entriesOf(value: string): string[] {
  return value
    .split(/\r?\n/)
    .filter((line) => !line.trim().startsWith('#'))
    .flatMap((line) => line.split(','))
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/** One entry as a grant, or what is wrong with it (a message that names no part of the key). */
function grantOf(entry: string): ApiKeyGrant | string {
  const [key = '', collections, access, ...extra] = entry.split(':');
  if (extra.length > 0) {
    return 'has more than key:collections:access';
  }
  if (!KEY_PATTERN.test(key) || FORBIDDEN_IN_KEY.test(key)) {
    return 'has a key that is empty or holds a character other than visible ASCII (not , : #)';
  }
  if (access !== undefined && !(ACCESS as readonly string[]).includes(access)) {
    return 'has an access other than rw or ro';
  }
  if (collections === undefined || collections === '*') {
    return { key, readOnly: access === 'ro' };
  }
  const names = collections.split('+');
  const bad = names.find((name) => !COLLECTION_NAME.test(name));
  if (bad !== undefined) {
    return `names "${bad}", which is not * or a collection name (a-z 0-9 _, starting with a letter; several joined by +)`;
  }

  return { key, collections: [...new Set(names)], readOnly: access === 'ro' };
}

/** Parses INGEST_API_KEYS (grammar above); unset or blank grants nothing, which turns authentication off. */
export function parseApiKeys(value: string | undefined): ApiKeysSetting {
  const grants: ApiKeyGrant[] = [];
  const problems: string[] = [];
  const positionOf = new Map<string, number>();
  entriesOf(value ?? '').forEach((entry, index) => {
    const position = index + 1;
    const grant = grantOf(entry);
    if (typeof grant === 'string') {
      problems.push(`INGEST_API_KEYS entry ${position} ${grant}`);
    } else if (positionOf.has(grant.key)) {
      problems.push(`INGEST_API_KEYS entry ${position} repeats the key of entry ${positionOf.get(grant.key)}`);
    } else {
      positionOf.set(grant.key, position);
      grants.push(grant);
    }
  });
  if (value !== undefined && value.trim() !== '' && grants.length === 0 && problems.length === 0) {
    // Every entry commented out must not turn authentication off unnoticed.
    problems.push('INGEST_API_KEYS holds no key (unset it to turn authentication off)');
  }

  return { grants, problems };
}
