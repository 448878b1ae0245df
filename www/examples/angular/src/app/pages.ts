import { Component } from '@angular/core'

@Component({ selector: 'app-home', template: '<p id="page">home</p>' })
export class Home {}

@Component({ selector: 'app-forbidden', template: '<p id="page">forbidden: the reports need the realm role "user"</p>' })
export class Forbidden {}
