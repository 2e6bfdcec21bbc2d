import * as fs from 'node:fs/promises'
import {
  chmod,
  chown,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  FileWriteError,
  UnsafeFolderError,
  writeFileAtomically,
  writeFilesAtomically,
} from '../../src/credential-endpoints/atomic-file.js'

// `open` is wrapped so a test can act as another user between the writer's steps.
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>()
  return { ...actual, open: vi.fn(actual.open) }
})
const { open: realOpen } = await vi.importActual<typeof import('node:fs/promises')>('node:fs/promises')

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strongroom-atomic-file-'))
})
afterEach(async () => {
  vi.mocked(fs.open).mockReset()
  vi.mocked(fs.open).mockImplementation(realOpen)
  await rm(dir, { recursive: true, force: true })
})

const modeOf = async (path: string) => (await stat(path)).mode & 0o7777
const asRoot = process.getuid?.() === 0

describe('writeFileAtomically', () => {
  it('sets 0600 on the open file: a link swapped in for the temporary file after it is closed is never chmodded', async () => {
    // Someone who can write the folder replaces the closed temporary file with a link to a file of
    // their choosing; a chmod by path (as before) made that file 0600, for a root agent any file.
    const victim = join(dir, 'victim')
    await writeFile(victim, 'not a secret', { mode: 0o644 })
    await chmod(victim, 0o644)
    vi.mocked(fs.open).mockImplementationOnce(async (path, flags, mode) => {
      const handle = await realOpen(path, flags, mode)
      const close = handle.close.bind(handle)
      handle.close = async () => {
        await close()
        await rm(path as string)
        await symlink(victim, path as string)
      }
      return handle
    })
    await writeFileAtomically(join(dir, 'target'), 'the-secret').catch(() => {})
    expect(await modeOf(victim)).toBe(0o644)
    expect(await readFile(victim, 'utf8')).toBe('not a secret')
  })

  it('writes 0600 whatever the umask, replacing a looser file', async () => {
    const target = join(dir, 'target')
    await writeFile(target, 'old', { mode: 0o666 })
    await chmod(target, 0o666)
    const umask = process.umask(0)
    try {
      await writeFileAtomically(target, 'the-secret')
    } finally {
      process.umask(umask)
    }
    expect(await modeOf(target)).toBe(0o600)
    expect(await readFile(target, 'utf8')).toBe('the-secret')
    expect(await readdir(dir)).toEqual(['target'])
  })

  it('refuses a folder writable by group or others, naming it and the rule, and writes nothing there', async () => {
    for (const [mode, who] of [
      [0o777, 'everyone'],
      [0o770, 'its group'],
      [0o2775, 'its group'],
    ] as const) {
      const folder = join(dir, `open-${mode.toString(8)}`)
      await mkdir(folder)
      await chmod(folder, mode)
      const error = await writeFileAtomically(join(folder, 'cloud.env'), 'the-secret').catch(
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(UnsafeFolderError)
      expect((error as Error).message).toBe(
        `refusing to write a secret into ${folder}: it is writable by ${who} (mode ${mode.toString(8).padStart(4, '0')}) without being a sticky folder of this user or root; whoever can write a folder can replace the files in it. Use a folder only this user (or root) can write, e.g. chmod ${who === 'everyone' ? 'go-w' : 'g-w'} ${folder}`,
      )
      expect(await readdir(folder)).toEqual([])
    }
  })

  it('writes into a sticky world-writable folder of this user or root (as /tmp), and a private one', async () => {
    for (const mode of [0o1777, 0o755, 0o700]) {
      const folder = join(dir, `ok-${mode.toString(8)}`)
      await mkdir(folder)
      await chmod(folder, mode)
      await writeFileAtomically(join(folder, 'cloud.env'), 'the-secret')
      expect(await modeOf(join(folder, 'cloud.env'))).toBe(0o600)
    }
  })

  it('refuses a folder below one writable by group or others without the sticky bit, naming that one and the rule (an emptyDir)', async () => {
    // The agent's own 0755 folder inside a 0777 one (a Kubernetes emptyDir): another user renames
    // it away, makes their own in its place and writes the file the consumer reads.
    for (const [mode, who, fix] of [
      [0o777, 'everyone', 'go-w'],
      [0o770, 'its group', 'g-w'],
    ] as const) {
      const open = join(dir, `open-${mode.toString(8)}`)
      const sub = join(open, 'sub')
      await mkdir(sub, { recursive: true })
      await chmod(open, mode)
      await chmod(sub, 0o755)
      const error = await writeFileAtomically(join(sub, 'api-key'), 'the-secret').catch((e: unknown) => e)
      expect(error).toBeInstanceOf(UnsafeFolderError)
      expect(error).toMatchObject({ folder: open })
      expect((error as Error).message).toBe(
        `refusing to write a secret into ${sub}: the folder ${open} above it is not safe: it is writable by ${who} (mode 0${mode.toString(8)}) without being a sticky folder of this user or root; whoever can write a folder can rename the folders in it and put their own in place of ${sub}. Make every folder above it writable only by this user or root, e.g. chmod ${fix} ${open} (for a Kubernetes emptyDir, which is world-writable: chmod 0755 its folder in an init container running as root)`,
      )
      expect(await readdir(sub)).toEqual([])
    }
  })

  it('refuses a folder further below, through a relative path or a link, but not below a sticky folder of this user or root', async () => {
    const open = join(dir, 'open')
    const deep = join(open, 'a', 'b')
    await mkdir(deep, { recursive: true })
    await chmod(open, 0o777)
    await expect(writeFileAtomically(join(deep, 'key'), 'the-secret')).rejects.toMatchObject({ folder: open })
    const cwd = process.cwd()
    process.chdir(deep)
    try {
      await expect(writeFileAtomically('key', 'the-secret')).rejects.toMatchObject({ folder: open })
    } finally {
      process.chdir(cwd)
    }
    await symlink(deep, join(dir, 'link'))
    await expect(writeFileAtomically(join(dir, 'link', 'key'), 'the-secret')).rejects.toMatchObject({
      folder: open,
    })
    expect(await readdir(deep)).toEqual([])
    const own = join(dir, 'sticky', 'own')
    await mkdir(own, { recursive: true })
    await chmod(join(dir, 'sticky'), 0o1777)
    await writeFileAtomically(join(own, 'key'), 'the-secret')
    expect(await readFile(join(own, 'key'), 'utf8')).toBe('the-secret')
  })

  it.runIf(asRoot)("refuses a folder below another user's folder, sticky or not (run as root)", async () => {
    for (const mode of [0o755, 0o1777]) {
      const bob = join(dir, `bob-${mode.toString(8)}`)
      const own = join(bob, 'own')
      await mkdir(own, { recursive: true })
      await chmod(bob, mode)
      await chown(bob, 4242, 4242)
      await expect(writeFileAtomically(join(own, 'secret'), 'the-secret')).rejects.toThrow(
        mode === 0o755
          ? `refusing to write a secret into ${own}: the folder ${bob} above it is not safe: it belongs to another user (uid 4242), not this one (uid 0) or root`
          : `the folder ${bob} above it is not safe: it is writable by everyone (mode 1777) without being a sticky folder of this user or root`,
      )
      expect(await readdir(own)).toEqual([])
    }
  })

  it.runIf(asRoot)("refuses another user's folder, sticky or not (run as root)", async () => {
    for (const mode of [0o755, 0o1777]) {
      const folder = join(dir, `bob-${mode.toString(8)}`)
      await mkdir(folder)
      await chmod(folder, mode)
      await chown(folder, 4242, 4242)
      await expect(writeFileAtomically(join(folder, 'secret'), 'the-secret')).rejects.toThrow(
        mode === 0o755
          ? `refusing to write a secret into ${folder}: it belongs to another user (uid 4242), not this one (uid 0) or root`
          : /it is writable by everyone \(mode 1777\) without being a sticky folder of this user or root/,
      )
      expect(await readdir(folder)).toEqual([])
    }
  })
})

describe('writeFilesAtomically', () => {
  it('refuses every file when one folder is unsafe, before any is written', async () => {
    const open = join(dir, 'open')
    await mkdir(open)
    await chmod(open, 0o777)
    const error = await writeFilesAtomically([
      { path: join(dir, 'a'), text: 'first' },
      { path: join(open, 'b'), text: 'second' },
    ]).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FileWriteError)
    expect(error).toMatchObject({ path: join(open, 'b'), code: 'UnsafeFolder' })
    expect((await readdir(dir)).sort()).toEqual(['open'])
    expect(await readdir(open)).toEqual([])
  })

  it('refuses every file when a folder above one is unsafe', async () => {
    const sub = join(dir, 'open', 'sub')
    await mkdir(sub, { recursive: true })
    await chmod(join(dir, 'open'), 0o777)
    const error = await writeFilesAtomically([
      { path: join(dir, 'a'), text: 'first' },
      { path: join(sub, 'b'), text: 'second' },
    ]).catch((e: unknown) => e)
    expect(error).toMatchObject({ path: join(sub, 'b'), code: 'UnsafeFolder' })
    expect((await readdir(dir)).sort()).toEqual(['open'])
    expect(await readdir(sub)).toEqual([])
  })
})
