// Lint rules for the TypeScript sources: typescript-eslint's recommended set, with the
// type information of tsconfig.json where a rule needs it.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'node_modules/**', '.reference/**', 'bin/**', 'packaging/**', '*.mjs', '*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // `import fs = require('node:fs')` is how this CommonJS project imports.
      '@typescript-eslint/no-require-imports': ['error', { allowAsImport: true }],
    },
  },
);
