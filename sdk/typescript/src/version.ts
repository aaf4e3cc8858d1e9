/** This package's version, as the instrumentation scope of its spans. */
export const SDK_NAME = '@lemma/sdk';
export const SDK_VERSION = '0.1.0';
