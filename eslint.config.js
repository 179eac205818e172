// Typed linting: a floating promise is an unhandled failure waiting to happen in a server.
const tseslint = require('typescript-eslint');

module.exports = tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'proto/gen/**', 'scripts/**', '*.config.js', 'eslint.config.js'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: __dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  // The layering (issue 15): each layer imports only what is below it. A relative import that
  // climbs into a layer it must not see is an error; packages are not affected.
  {
    files: ['master/allocator/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ regex: '^\\.\\./(?!\\.\\./(common|proto)/)', message: 'the allocator imports only common/ (and proto/gen): it is a pure core' }] }] },
  },
  {
    files: ['master/**/*.ts'],
    ignores: ['master/allocator/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ regex: '^(\\.\\./)+agent(/|$)', message: 'the master and the agent never import each other: they share common/ and speak over NATS' }] }] },
  },
  {
    files: ['agent/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ regex: '^(\\.\\./)+master(/|$)', message: 'the master and the agent never import each other: they share common/ and speak over NATS' }] }] },
  },
  {
    files: ['common/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ regex: '^(\\.\\./)+(master|agent|frameworks|cli|test|bench)(/|$)', message: 'common/ imports nothing of ours but proto/gen: everything else builds on it' }] }] },
  },
  {
    // The web UIs (the master's, the frameworks', and what they share): ES modules the browser runs as they are, with no type checker
    // behind them, so at least no undefined or unused names.
    files: ['master/ui/**/*.js', 'common/ui/**/*.js', 'frameworks/services/ui/**/*.js', 'frameworks/jobs/ui/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(['window', 'document', 'location', 'fetch', 'EventSource', 'URLSearchParams', 'Node',
        'structuredClone', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'requestAnimationFrame', 'cancelAnimationFrame',
        'AbortController', 'TextDecoderStream'].map((g) => [g, 'readonly'])),
    },
    rules: { 'no-undef': 'error', 'no-unused-vars': 'error', 'prefer-const': 'error', eqeqeq: 'error' },
  },
);
