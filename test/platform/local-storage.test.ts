import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { unlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { LocalDiskStorage, newStorageKey, type StoredObject } from '../../src/platform/storage.ts'

// The local disk store (development's default): a file opened for a reader stays readable to
// the end even when the worker removes it meanwhile (a replaced logo, a deleted workspace's
// files), instead of failing the stream with ENOENT after its size was already answered.

const read = async (file: StoredObject): Promise<Buffer> => {
  const chunks: Buffer[] = []
  for await (const chunk of file.stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

t.test('a file removed after it was opened is still read whole; a missing one is null', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bazaar-local-storage-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const storage = new LocalDiskStorage(dir)
  const content = Buffer.alloc(256 * 1024, 7)
  const key = newStorageKey('public', 'image/png')
  const source = join(dir, 'upload.tmp')
  writeFileSync(source, content)
  await storage.put(key, source)

  for (let i = 0; i < 20; i++) {
    const file = await storage.open(key)
    t.ok(file, 'opened')
    await unlink(join(dir, key))
    const body = await read(file!)
    t.equal(body.length, file!.size, `read whole after the removal (${i + 1})`)
    t.ok(body.equals(content))
    t.equal(await storage.open(key), null, 'and gone for the next reader')
    writeFileSync(source, content)
    await storage.put(key, source)
  }
})
