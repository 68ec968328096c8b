import { readFileSync } from 'node:fs';
import { TlsFileError } from '../protocol/errors.ts';

/** A PEM file's text (certificate, key, CA), or TlsFileError saying which file it was for and why. */
export function readPemFile(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new TlsFileError(`cannot read the ${what} ${file}: ${reason}`, { cause: err });
  }
}
