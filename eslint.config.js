// Lint rules from CONVENTIONS.md: no `any`, no floating promises, injected time in the pure packages,
// small files and functions.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const injectedTime = [
  { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: 'take a Clock (CONVENTIONS 8)' },
  { selector: "CallExpression[callee.name='setTimeout']", message: 'take a Clock (CONVENTIONS 8)' },
  { selector: "CallExpression[callee.name='setInterval']", message: 'take a Clock (CONVENTIONS 8)' },
];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'packages/proto/src/gen/**', 'packages/proto/src/runtime.ts', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'max-lines': ['warn', { max: 400, skipBlankLines: true, skipComments: true }],
      'max-lines-per-function': ['warn', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    files: ['packages/taskscaler/src/**/*.ts', 'packages/fleeting/src/**/*.ts', 'packages/executor/src/**/*.ts'],
    rules: { 'no-restricted-syntax': ['error', ...injectedTime] },
  },
  {
    files: ['**/test/**/*.ts'],
    rules: { 'max-lines-per-function': 'off', 'max-lines': 'off', '@typescript-eslint/no-floating-promises': 'off' },
  },
);
