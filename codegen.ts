// Typed documents for the tests, generated from schema.graphql and the
// operations written with graphql() under test/.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['test/**/*.ts', '!test/generated/**'],
  generates: {
    'test/generated/': {
      preset: 'client',
      config: {
        scalars: { DateTime: 'string', JSON: 'Record<string, unknown>' },
        enumsAsTypes: true,
        useTypeImports: true,
      },
      // persisted-documents.json: the allow-list for PERSISTED_OPERATIONS=only.
      presetConfig: { fragmentMasking: false, persistedDocuments: true },
    },
  },
  // Imports with .js extensions, as ESM with NodeNext resolution needs.
  emitLegacyCommonJSImports: false,
  errorsOnly: true,
};

export default config;
