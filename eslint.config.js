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
