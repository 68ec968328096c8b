// Lint: ESLint's and typescript-eslint's recommended rules everywhere, and the
// type-aware ones (floating promises, misused promises, ...) on src; tsc
// (npm run typecheck) does the type checking and prettier the layout.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      // cleanup is registered (t.after) before the value it cleans up exists
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    files: ['src/**/*.ts'],
    extends: [tseslint.configs.recommendedTypeCheckedOnly],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // A promise nobody awaits must say so (`void`), or its rejection is lost.
      '@typescript-eslint/no-floating-promises': 'error',
      // Handlers that return promises where Node ignores them (socket events, timers).
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
    },
  },
);
