import neostandard from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    // Generated files (npm run db:types, npm run client): their generators' own style.
    ignores: ['data/**', 'coverage/**', '.tap/**', 'dist/**', 'tmp/**', 'src/platform/db-types.ts', 'client/schema.ts']
  }),
  {
    rules: {
      // TypeBox's idiom declares a schema and its Static<> type under one name; the compiler
      // already rejects real redeclarations.
      '@typescript-eslint/no-redeclare': 'off'
    }
  }
]
