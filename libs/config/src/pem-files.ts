import { readFileSync } from 'node:fs';

/** What a PEM file a setting names must hold. */
export type PemKind = 'certificate' | 'private key';

const PEM_BLOCKS: Readonly<Record<PemKind, RegExp>> = {
  certificate: /-----BEGIN CERTIFICATE-----/,
  'private key': /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
};

/**
 * What is wrong with a PEM file a setting names (it cannot be read, or holds no PEM block of that kind), undefined
 * when it is fine. Names the path, never prints the content.
 */
export function pemFileProblem(path: string, kind: PemKind): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return `${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
  }

  return PEM_BLOCKS[kind].test(text) ? undefined : `${path} holds no PEM ${kind} (-----BEGIN …-----)`;
}
