// ESLint for the TypeScript and JavaScript of the package, its tests, benchmarks and scripts (npm run lint):
// rules that catch defects. Layout is Prettier's (.prettierrc.json), so no rule here is about it.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  // Built or generated output, and the cdktn packages' own install.
  globalIgnores(['lib/', 'dist/', 'cdktf.out/', 'coverage/', '.e2e/', 'compat/cdktn/node_modules/']),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, globals: globals.node },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // As tsc (noUnusedLocals, noUnusedParameters): a leading _ marks a parameter kept on purpose, and
      // `const { a: _, ...rest } = x` is how a property is left out of a copy.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // A callback made before the value it uses exists (a server's handler and the object built around
      // that server) needs `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // Type-aware: a promise nobody awaits lets a jest test pass before its assertion runs (a test that
    // cannot fail) and loses its error; the end-to-end suites and benchmarks are asynchronous throughout.
    // These three need the type checker (about 5 s more); the rest of typescript-eslint's type-aware set
    // found nothing here but assertions TypeScript already accepts.
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  {
    // Tests read synthesized Terraform JSON, and their assertions are what check its shape.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs' },
    // Node's CommonJS scripts (build, release, test runner, jest configuration) load modules with require.
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
