// Lint configuration. The second block is the determinism guard (DESIGN.md,
// "Determinism rules"): code in src/runtime and sim may reach time, randomness,
// sockets, files and processes only through the platform seam.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const seamOnly = 'use the platform seam (src/runtime/platform/types.ts); see DESIGN.md, determinism rules';

const bannedModules = [
  'net', 'tls', 'dgram', 'fs', 'fs/promises', 'child_process', 'timers', 'timers/promises',
  'perf_hooks', 'worker_threads', 'cluster', 'http', 'https', 'http2', 'os', 'dns',
  'module',
].flatMap((name) => [name, `node:${name}`]).map((name) => ({ name, message: seamOnly, allowTypeImports: true }));

// For esquery's /regex/ literal: '/' must be escaped.
const bannedModulePattern = '^(node:)?(net|tls|dgram|fs(\\/promises)?|child_process|timers(\\/promises)?|perf_hooks|worker_threads|cluster|http|https|http2|os|dns|module)$';

const bannedCryptoImports = ['node:crypto', 'crypto'].map((name) => ({
  name,
  importNames: ['randomBytes', 'randomInt', 'randomUUID', 'randomFill', 'randomFillSync', 'getRandomValues', 'webcrypto'],
  message: `nondeterministic randomness: ${seamOnly}`,
}));

export const determinismRules = {
  'no-restricted-imports': ['error', { paths: [...bannedModules, ...bannedCryptoImports] }],
  'no-restricted-globals': [
    'error',
    ...['Date', 'setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate',
      'queueMicrotask', 'performance', 'crypto'].map((name) => ({ name, message: seamOnly })),
  ],
  'no-restricted-properties': [
    'error',
    { object: 'Math', property: 'random', message: seamOnly },
    { object: 'process', property: 'nextTick', message: seamOnly },
    { object: 'process', property: 'hrtime', message: seamOnly },
    { object: 'process', property: 'uptime', message: seamOnly },
    { object: 'AbortSignal', property: 'timeout', message: seamOnly },
    ...['globalThis', 'global'].flatMap((object) =>
      ['Date', 'setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask', 'performance', 'crypto'].map((property) => ({
        object,
        property,
        message: seamOnly,
      })),
    ),
  ],
  'no-restricted-syntax': [
    'error',
    { selector: `ImportExpression[source.value=/${bannedModulePattern}/]`, message: seamOnly },
    { selector: `CallExpression[callee.name='require']`, message: seamOnly },
  ],
};

/** The platform implementations: the only runtime/sim files allowed to touch the host directly. */
export const platformImplementations = ['src/runtime/platform/real/**', 'src/runtime/platform/node-tls.ts'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'reports/**', 'scratch/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['src/runtime/**/*.ts', 'sim/**/*.ts', 'scenarios/**/*.ts'],
    ignores: platformImplementations,
    rules: determinismRules,
  },
);
