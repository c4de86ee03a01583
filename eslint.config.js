import neostandard from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    ignores: ['data/**', 'coverage/**', '.tap/**', 'dist/**', 'tmp/**', 'src/platform/db-types.ts']
  }),
  {
    rules: {
      // TypeBox's idiom declares a schema and its Static<> type under one name; the compiler
      // already rejects real redeclarations.
      '@typescript-eslint/no-redeclare': 'off'
    }
  }
]
