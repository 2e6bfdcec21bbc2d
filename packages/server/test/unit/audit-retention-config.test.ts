import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/config.js'

const cwd = '/srv/app'
const pg = { STRONGROOM_DB: 'postgres://pam@db.example/pam', STRONGROOM_ROOT_KEY: 'x' }

describe('audit retention settings', () => {
  it('is off by default', () => {
    expect(loadConfig({}, {}, cwd).auditRetention).toBeNull()
  })

  it('archives to audit-archive in the data folder unless told where, from a flag, the environment or the config file', () => {
    expect(loadConfig({ auditRetentionDays: '90' }, {}, cwd).auditRetention).toEqual({
      days: 90,
      archiveDir: '/srv/app/.strongroom/audit-archive',
    })
    expect(
      loadConfig({}, { STRONGROOM_AUDIT_RETENTION_DAYS: '30', STRONGROOM_AUDIT_ARCHIVE_DIR: 'archive' }, cwd)
        .auditRetention,
    ).toEqual({ days: 30, archiveDir: '/srv/app/archive' })
    const dir = mkdtempSync(join(tmpdir(), 'sr-retention-'))
    const file = join(dir, 'strongroom.json')
    writeFileSync(file, JSON.stringify({ auditRetentionDays: 365, auditArchiveDir: '/mnt/worm/audit' }))
    expect(loadConfig({ config: file }, {}, cwd).auditRetention).toEqual({
      days: 365,
      archiveDir: '/mnt/worm/audit',
    })
    expect(
      loadConfig({ db: 'sqlite:/var/lib/sr/pam.db', auditRetentionDays: '7' }, pg, cwd).auditRetention,
    ).toEqual({ days: 7, archiveDir: '/var/lib/sr/audit-archive' })
  })

  it('names the setting, its source and the rule when it is wrong', () => {
    expect(() => loadConfig({ auditRetentionDays: '0' }, {}, cwd)).toThrow(
      'audit-retention-days "0" from --audit-retention-days must be a whole number from 1 to 36500',
    )
    expect(() => loadConfig({}, { STRONGROOM_AUDIT_RETENTION_DAYS: '30d' }, cwd)).toThrow(
      'audit-retention-days "30d" from STRONGROOM_AUDIT_RETENTION_DAYS must be a whole number from 1 to 36500',
    )
    expect(() => loadConfig({ auditArchiveDir: 'a' }, {}, cwd)).toThrow(
      'audit-archive-dir from --audit-archive-dir is used only with audit-retention-days',
    )
    expect(() => loadConfig({ auditRetentionDays: '30' }, pg, cwd)).toThrow(
      'audit-retention-days needs audit-archive-dir',
    )
    expect(loadConfig({ auditRetentionDays: '30', auditArchiveDir: '/a' }, pg, cwd).auditRetention).toEqual({
      days: 30,
      archiveDir: '/a',
    })
  })
})
