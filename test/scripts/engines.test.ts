import { readFileSync } from 'node:fs'
import semver from 'semver'
import t from 'tap'

// package.json `engines` names the Node versions the project is tested on, and an install there
// warns of nothing: every package in the lockfile that states the Node versions it supports
// supports all of ours (npm's EBADENGINE warning otherwise).

interface Manifest { version?: string, engines?: { node?: string } | string[], dev?: boolean }

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } }
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, Manifest> }
const ours = pkg.engines.node

t.test('engines names a Node range, the running Node is in it, and the lockfile agrees', async (t) => {
  t.ok(semver.validRange(ours), `engines.node "${ours}" is a range`)
  t.ok(semver.satisfies(process.version, ours), `the tests run on ${process.version}, inside "${ours}"`)
  t.equal((lock.packages['']?.engines as { node?: string })?.node, ours, 'package-lock.json records the same range')
})

t.test('every locked package that names its Node versions accepts all of ours', async (t) => {
  const refusing: string[] = []
  let checked = 0
  for (const [path, manifest] of Object.entries(lock.packages)) {
    if (path === '' || Array.isArray(manifest.engines) || !manifest.engines?.node) continue
    checked++
    const theirs = manifest.engines.node
    const accepts = semver.validRange(theirs) !== null && semver.subset(ours, theirs, { includePrerelease: true })
    if (!accepts) refusing.push(`${path.replace(/^.*node_modules\//, '')}@${manifest.version} wants node "${theirs}"${manifest.dev ? ' (dev)' : ''} (${path})`)
  }
  t.ok(checked > 100, `${checked} packages state their Node versions`)
  t.same(refusing, [], `all of them accept every Node in "${ours}"`)
})

t.test('the check itself: a range outside ours is caught', async (t) => {
  t.notOk(semver.subset(ours, '>=22.0.0'), 'kysely 0.29 (>=22) would be caught')
  t.ok(semver.subset(ours, '^20.17.0 || >=22.9.0'), 'a range covering ours passes')
})
