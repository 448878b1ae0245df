// The demo realm for an app origin: realm "demo", public client "demo-app" (PKCE S256,
// redirects to the app's origin), users alice (realm role "user", client role "viewer")
// and bob (no roles). Used by `npm start` (for another app port than 3000) and the tests.

export function demoRealm (appOrigin) {
  return {
    realm: 'demo',
    enabled: true,
    roles: { realm: [{ name: 'user' }], client: { 'demo-app': [{ name: 'viewer' }] } },
    clients: [{
      clientId: 'demo-app',
      enabled: true,
      publicClient: true,
      redirectUris: [`${appOrigin}/*`],
      webOrigins: ['+'],
      attributes: { 'pkce.code.challenge.method': 'S256', 'post.logout.redirect.uris': '+' }
    }],
    users: [
      { username: 'alice', enabled: true, email: 'alice@example.com', firstName: 'Alice', lastName: 'Liddell', emailVerified: true, credentials: [{ type: 'password', value: 'alice' }], realmRoles: ['user'], clientRoles: { 'demo-app': ['viewer'] } },
      { username: 'bob', enabled: true, email: 'bob@example.com', firstName: 'Bob', lastName: 'Builder', credentials: [{ type: 'password', value: 'bob' }] }
    ]
  }
}
