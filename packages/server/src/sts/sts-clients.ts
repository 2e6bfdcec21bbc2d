import type { AssumedRole, AssumeRoleRequest, StsClient } from './assume-role.js'
export function createStsClient(_o: { now?: () => number } = {}): StsClient {
  return {
    assumeRole: async (_r: AssumeRoleRequest): Promise<AssumedRole> => {
      throw new Error('temporary')
    },
  }
}
