/** This package's name and version, as the instrumentation scope of its spans. */
import { createRequire } from 'node:module';

export const SDK_NAME = '@lemma/sdk';

/** The `version` of this package's package.json (dist/../package.json, shipped in the
 * tarball): the one place the version is written. */
export const SDK_VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
