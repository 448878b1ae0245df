import { Component, effect, inject, signal } from '@angular/core'
import { RouterLink, RouterOutlet } from '@angular/router'
import Keycloak from 'keycloak-js'
import { KEYCLOAK_EVENT_SIGNAL } from 'keycloak-angular'

@Component({
  selector: 'app-root',
  imports: [RouterLink, RouterOutlet],
  template: `
    <p id="status">{{ user() ? 'authenticated as ' + user() : 'not authenticated' }}</p>
    <nav>
      <a id="home" routerLink="/">Home</a> |
      <a id="reports" routerLink="/reports">Reports</a>
    </nav>
    @if (user()) {
      <p>token <code id="token">{{ tokenTail() }}</code></p>
      <button id="refresh" (click)="refresh()">Refresh the token</button>
      <button id="logout" (click)="logout()">Log out</button>
    } @else {
      <button id="login" (click)="login()">Log in</button>
    }
    <router-outlet />`
})
export class App {
  private readonly keycloak = inject(Keycloak)
  readonly user = signal<string | undefined>(undefined)
  readonly tokenTail = signal('')

  constructor () {
    // The tests look at the instance keycloak-angular made.
    Object.assign(window, { keycloak: this.keycloak })
    // keycloak-angular turns the instance's callbacks (ready, refresh, logout, ...) into a signal.
    const events = inject(KEYCLOAK_EVENT_SIGNAL)
    effect(() => {
      events()
      this.user.set(this.keycloak.authenticated ? this.keycloak.tokenParsed?.['preferred_username'] : undefined)
      // The end of the access token (its signature): changes with every new token.
      this.tokenTail.set(this.keycloak.token?.slice(-16) ?? '')
    })
  }

  login () { this.keycloak.login() }
  logout () { this.keycloak.logout({ redirectUri: document.baseURI }) }
  async refresh () { await this.keycloak.updateToken(-1) }
}
