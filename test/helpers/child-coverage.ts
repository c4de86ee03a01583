// tap records coverage in every Node process a test starts: its processinfo hook rides along in
// NODE_OPTIONS. A child started with `--import tsx` compiles src/ differently from the test
// processes (tap's ts-node), and c8 merges raw coverage by file URL, byte ranges and all, so a
// child's coverage corrupts the counts of every file both loaded (src/config.ts measured alone:
// 255/295 lines, 11 functions; merged with a child's: 182/295 lines, 20 functions), and tsx's
// source maps make src/server.ts one line long. Children therefore record none: what they run is
// covered by the in-process tests, or honestly reported as not covered.
export const WITHOUT_COVERAGE = { _TAPJS_PROCESSINFO_COVERAGE_: '0' } as const
