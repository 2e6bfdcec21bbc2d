import { describe, expect, it } from 'vitest'
import { run } from '../../src/program.js'
import { fakeIo } from '../fake-io.js'

const AWS = 'arn:aws:iam::123456789012:role/deployer'
const ALI = 'acs:ram::1234567890123456:role/reader'

/** `strongroom agent …` with no server, no configuration and no network: usage errors come first. */
async function agent(args: string[]) {
  const io = fakeIo({ env: {}, fetch: () => Promise.reject(new Error('no network in this test')) })
  const code = await run(['agent', ...args], io)
  return { code, stdout: io.stdout.text, stderr: io.stderr.text }
}

describe('strongroom agent: usage errors, before any client is made', () => {
  it.each([
    [[], /nothing to serve: give --cloud-role ARN and\/or --file PATH=strongroom:\/\/…/],
    [['--cloud-role', AWS], /--cloud-role needs --env-out FILE \(or --print-env\)/],
    [
      ['--cloud-role', AWS, '--cloud-role', 'arn:aws:iam::123456789012:role/b', '--print-env'],
      /two AWS roles/,
    ],
    [['--cloud-role', 'arn:aws:s3:::bucket', '--print-env'], /not a cloud role ARN/],
    [['--cloud-role', AWS, '--print-env', '--listen', '0.0.0.0:9911'], /refusing to listen on 0\.0\.0\.0/],
    [['--cloud-role', AWS, '--print-env', '--listen', '192.0.2.1:9911'], /loopback only/],
    [['--cloud-role', AWS, '--print-env', '--duration', '60'], /900 to 43200/],
    [
      ['--file', 'out=strongroom://credential/x', '--env-out', 'f'],
      /--env-out applies only with --cloud-role/,
    ],
    [['--file', 'out=strongroom://credential/x', '--listen', '127.0.0.1:1'], /--listen applies only/],
    [['--cloud-role', ALI, '--env-out', 'f', '--poll', '5'], /--poll applies only with --file/],
    [['--file', 'out=strongroom://credential/x', '--poll', '0'], /from 1 to 86400/],
    [['--file', 'my-secret-value'], /--file number 1 is not PATH=strongroom:\/\/…/],
    [
      ['--file', 'a=strongroom://credential/x', '--file', 'a=strongroom://credential/y'],
      /two --file options write a/,
    ],
  ])('%j', async (args, message) => {
    const r = await agent(args as string[])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(message)
    expect(r.stderr).toMatch(/^strongroom: [^\n]+\n$/)
    expect(r.stderr).not.toContain('my-secret-value')
  })

  it('documents the variables, the capability and --env-out in its help', async () => {
    const r = await agent(['--help'])
    expect(r.code).toBe(0)
    for (const text of [
      '--cloud-role <arn>',
      '--env-out <file>',
      '--print-env',
      '--file <path=ref>',
      '--poll <seconds>',
      '--listen <host:port>',
      'ALIBABA_CLOUD_CREDENTIALS_URI',
      'ALIBABA_CLOUD_ECS_METADATA_DISABLED=true',
      'AWS_CONTAINER_CREDENTIALS_FULL_URI',
      'AWS_CONTAINER_AUTHORIZATION_TOKEN',
      'SIGINT, SIGTERM or SIGHUP',
    ])
      expect(r.stdout).toContain(text)
  })
})
