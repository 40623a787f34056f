// The lint CI runs (npm run lint, part of npm test): the promise rules catch a promise
// left unawaited or passed where a callback's result is ignored (an error lost, a write
// racing the exit); console output belongs to the CLI's display, nowhere else in lib/.
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bin/**', 'bench/results/**', '**/*.js', '**/*.cjs', '**/*.mjs'] },
  {
    files: ['lib/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      // tap awaits the subtests a test file registers (t.test returns its promise for those who want it)
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }] }],
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    files: ['lib/**/*.ts'],
    ignores: ['lib/cli/**'],
    rules: { 'no-console': 'error' },
  },
)
