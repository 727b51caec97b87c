import { BadRequestException } from '@nestjs/common';

/** Parses `If-Match: "<version>"` (quotes optional); undefined when absent. */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header === '') {
    return undefined;
  }
  const match = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(header);
  if (!match) {
    throw new BadRequestException('If-Match must be a quoted version, e.g. "3"');
  }

  return Number(match[1]);
}
