// ESLint over the TypeScript sources (npm run lint; the first step of npm test).
// Beyond the recommended rules, two guardrails: no import cycle between modules, and every
// switch over a union names each member (a default alone does not count, so a new event or
// message kind is an error wherever it is not handled; the default stays for kinds from a
// newer version).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX, createNodeResolver } from 'eslint-plugin-import-x';

export default tseslint.config(
  { ignores: ['dist/**', 'media/**', 'node_modules/**', '.cache/**', 'test/**', 'bench/**', 'scripts/**', '*.mjs'] },
  {
    files: ['src/**/*.ts', 'webview/src/**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    plugins: { 'import-x': importX },
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js'] })],
    },
    linterOptions: { reportUnusedDisableDirectives: 'warn' },
    rules: {
      'import-x/no-cycle': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: false, requireDefaultForNonUnion: false }],
      // Best-effort cleanup (closing, unlinking, killing what may be gone) ignores its errors on purpose.
      'no-empty': ['error', { allowEmptyCatch: true }],
      // The terminal sanitizer and the redactor match control characters by design.
      'no-control-regex': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // The preload runs inside the user's process: it requires Node's modules lazily (start-up
    // cost), and wraps arbitrary user functions, forwarding their `this`.
    files: ['src/preload/**/*.ts'],
    rules: {
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-unsafe-function-type': 'off',
      '@typescript-eslint/no-this-alias': 'off',
    },
  },
);
