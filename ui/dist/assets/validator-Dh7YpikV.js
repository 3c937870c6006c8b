import{T as i}from"./index-Do-Qef9y.js";const n=o=>["",...i].includes(o);export{n as i};
