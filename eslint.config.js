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
  // Small rooms: a file that reads in one sitting (400 lines), a function that fits a screen (60).
  // Every line counts, blank lines and comments included, so a limit cannot be met by squeezing.
  // Tests and generated code are exempt; so are the browser UIs' view templates, which are .js
  // and not matched here.
  {
    files: ['**/*.ts'],
    ignores: ['**/*.test.ts', 'test/**', 'proto/gen/**'],
    rules: {
      'max-lines': ['error', { max: 400, skipBlankLines: false, skipComments: false }],
      'max-lines-per-function': ['error', { max: 60, skipBlankLines: false, skipComments: false }],
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
    // One door to the Docker engine (issue 16): only docker-client.ts holds a dockerode client,
    // and everything else reaches the engine through its bounded line. Types are welcome.
    files: ['agent/**/*.ts', 'master/**/*.ts', 'common/**/*.ts', 'frameworks/**/*.ts', 'cli/**/*.ts'],
    ignores: ['agent/containerizer/docker-client.ts', '**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        paths: ['dockerode', 'docker-modem'].map((name) => ({
          name, allowTypeImports: true,
          message: 'the Docker engine is reached only through agent/containerizer/docker-client.ts (its DockerEngine), so every call is bounded',
        })),
      }],
    },
  },
  {
    files: ['common/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ regex: '^(\\.\\./)+(master|agent|frameworks|cli|test|bench)(/|$)', message: 'common/ imports nothing of ours but proto/gen: everything else builds on it' }] }] },
  },
  {
    // A framework is built on the SDK's public surface, the frameworks' shared runtime and
    // common/: never on the SDK's insides, the master, the agent, the CLI, or another framework.
    files: ['frameworks/services/**/*.ts', 'frameworks/jobs/**/*.ts', 'frameworks/shared/**/*.ts', 'frameworks/examples/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ regex: '^\\.\\./(?!sdk$|shared/|\\.\\./common/)', message: 'a framework imports only the SDK\'s index (../sdk), frameworks/shared and common/' }] }] },
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
