// The SDK under test is the tarball `npm pack` made, installed by `npm install` in a separate
// consumer directory (scripts/sdk-typescript-setup), not the source tree: these tests fail if
// `@lemma/sdk` resolves to sdk/typescript (a link, a self-reference, a relative import) or if the
// tarball ships too much or too little.
//
// crates/lemma-cli/tests/integration/sdk_typescript.rs runs them from inside the consumer directory, with
// LEMMA_SDK_CONSUMER (that directory) and LEMMA_SDK_SOURCE (sdk/typescript) set.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import * as sdk from '@lemma/sdk';

function requireEnv(name) {
  const value = process.env[name];
  assert.ok(value, `${name} is not set: run these tests with cargo test -p lemma-cli --test integration sdk_typescript::`);
  return realpathSync(value);
}

const consumer = requireEnv('LEMMA_SDK_CONSUMER');
const source = requireEnv('LEMMA_SDK_SOURCE');
const installed = join(consumer, 'node_modules', '@lemma', 'sdk');
const sourcePackage = JSON.parse(readFileSync(join(source, 'package.json'), 'utf8'));
const installedPackage = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));

/** Every file under `dir`, relative to it with `/`, sorted. */
function walk(dir, base = dir) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name), base) : [relative(base, join(dir, e.name)).split(sep).join('/')]))
    .sort();
}

/** What the tarball must hold: package.json, the README, and for every source module its
 * compiled JavaScript and its type declarations. */
function expectedFiles() {
  const modules = walk(join(source, 'src'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.replace(/\.ts$/, ''));
  assert.ok(modules.includes('index'), 'no src/index.ts');
  return ['README.md', 'package.json', ...modules.flatMap((m) => [`dist/${m}.d.ts`, `dist/${m}.js`])].sort();
}

describe('the installed @lemma/sdk', () => {
  it('resolves to node_modules of the consumer, not to the source tree', () => {
    const entry = fileURLToPath(import.meta.resolve('@lemma/sdk'));
    assert.equal(entry, join(installed, 'dist', 'index.js'));
    // A copy, not a link to the checkout (as `npm install <folder>` would make).
    assert.equal(realpathSync(entry), entry);
    assert.ok(!lstatSync(installed).isSymbolicLink(), `${installed} is a link`);
    assert.ok(!entry.startsWith(source + sep), `${entry} is in the source tree ${source}`);
    // This test file itself runs from inside the consumer, where Node looks up node_modules.
    assert.ok(fileURLToPath(import.meta.url).startsWith(consumer + sep), import.meta.url);
  });

  it('is the version of sdk/typescript/package.json, and says so in its spans', () => {
    assert.equal(installedPackage.name, sourcePackage.name);
    assert.equal(installedPackage.version, sourcePackage.version);
    assert.equal(sdk.SDK_VERSION, sourcePackage.version);
  });

  it('holds the compiled modules, their type declarations and nothing else', () => {
    assert.deepEqual(walk(installed), expectedFiles());
    // The installed files are the current build and README.
    for (const f of walk(installed).filter((f) => f !== 'package.json')) {
      assert.equal(readFileSync(join(installed, f), 'utf8'), readFileSync(join(source, f), 'utf8'), `${f} differs from sdk/typescript/${f}: run scripts/sdk-typescript-setup`);
    }
  });

  it('has package metadata pointing at files it ships', () => {
    assert.equal(installedPackage.license, 'Apache-2.0');
    assert.equal(installedPackage.type, 'module');
    assert.match(installedPackage.engines?.node ?? '', /^>=\d+/);
    assert.ok(installedPackage.description);
    const entries = [
      installedPackage.main,
      installedPackage.module,
      installedPackage.types,
      installedPackage.exports?.['.']?.types,
      installedPackage.exports?.['.']?.import,
    ];
    for (const file of entries) {
      assert.ok(file, `an entry point is missing in ${JSON.stringify(entries)}`);
      assert.ok(existsSync(join(installed, file)), `${file} is not in the package`);
    }
    assert.equal(installedPackage.exports['.'].types, './dist/index.d.ts');
    assert.equal(installedPackage.exports['.'].import, './dist/index.js');
    // Every runtime dependency is a range (so an app shares one @opentelemetry/api with the SDK).
    for (const [name, range] of Object.entries(installedPackage.dependencies ?? {})) {
      assert.match(range, /^\^\d/, `${name}: ${range}`);
      assert.ok(existsSync(join(consumer, 'node_modules', ...name.split('/'), 'package.json')), `${name} is not installed`);
    }
  });

  it('declares the types of its public API', () => {
    const declarations = readFileSync(join(installed, 'dist', 'index.d.ts'), 'utf8');
    for (const name of ['agent', 'tool', 'llm', 'retrieval', 'init', 'shutdown', 'metric', 'proxy', 'withProxy', 'SDK_VERSION']) {
      assert.ok(name in sdk, `@lemma/sdk exports no ${name}`);
      assert.match(declarations, new RegExp(`\\b${name}\\b`), `dist/index.d.ts does not declare ${name}`);
    }
  });

  it('is what `npm pack` of sdk/typescript makes now', () => {
    const [packed] = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', '--loglevel=error'], { cwd: source, encoding: 'utf8' }),
    );
    const files = packed.files.map((f) => f.path).sort();
    assert.deepEqual(files, expectedFiles());
    assert.ok(files.includes('dist/index.d.ts'));
    for (const f of files) {
      assert.ok(!/^(src|test|build|examples|node_modules)\//.test(f) && !f.endsWith('.map') && !f.includes('stamp'), f);
    }
    assert.equal(packed.name, installedPackage.name);
    assert.equal(packed.version, installedPackage.version);
  });
});
