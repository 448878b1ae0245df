import { Component, inject, signal } from '@angular/core'
import { HttpClient } from '@angular/common/http'
import { API_URL } from './app.config'

// The guarded page. It calls the API through HttpClient without touching the token: the
// bearer interceptor adds it. The userinfo endpoint answers 401 to a request without one.
@Component({
  selector: 'app-reports',
  template: `
    <p id="page">reports</p>
    <p id="api">{{ api() }}</p>`
})
export class Reports {
  readonly api = signal('calling the API')

  constructor () {
    inject(HttpClient).get<{ preferred_username: string, email: string }>(API_URL).subscribe({
      next: (user) => this.api.set(`API says: ${user.preferred_username} <${user.email}>`),
      error: (e) => this.api.set(`API error ${e.status}`)
    })
  }
}
